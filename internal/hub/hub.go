// Package hub holds the jobs that this process waits for, keyed by routing
// key, and wakes them when their Store hints that something changed. What
// changed is read from the Store by the woken job itself: a hint carries no
// data, so a lost, late or repeated one costs nothing but a read.
package hub

import "sync"

// Waiter is a pending job. Wake is called outside the hub's lock; it must
// return quickly and not call the hub. ask says the job's record may have
// been lost, so the waiter should ask the API rather than trust it.
type Waiter interface {
	Wake(ask bool)
}

// Hub is safe for concurrent use. The zero value is not; use New.
//
// Nearly every key has one waiter, so waiters sit in a map of one waiter
// each, and only the second and later ones in a map of slices: at a
// million pending jobs, a slice per key would cost a sixth of their memory.
type Hub struct {
	mu   sync.Mutex
	one  map[string]Waiter
	more map[string][]Waiter
}

// New returns an empty Hub.
func New() *Hub {
	return &Hub{one: make(map[string]Waiter), more: make(map[string][]Waiter)}
}

// Register adds w as a waiter for key.
func (h *Hub) Register(key string, w Waiter) {
	h.mu.Lock()
	if _, ok := h.one[key]; !ok {
		h.one[key] = w
	} else {
		h.more[key] = append(h.more[key], w)
	}
	h.mu.Unlock()
}

// Unregister removes w.
func (h *Hub) Unregister(key string, w Waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	extra := h.more[key]
	if first, ok := h.one[key]; ok && first == w {
		if len(extra) == 0 {
			delete(h.one, key)
			return
		}
		h.one[key], extra = extra[0], extra[1:]
	} else {
		for i, x := range extra {
			if x == w {
				extra = append(extra[:i:i], extra[i+1:]...)
				break
			}
		}
	}
	if len(extra) == 0 {
		delete(h.more, key)
	} else {
		h.more[key] = extra
	}
}

// Wake wakes the waiters of key.
func (h *Hub) Wake(key string) {
	var stack [2]Waiter
	ws := stack[:0]
	h.mu.Lock()
	if w, ok := h.one[key]; ok {
		ws = append(append(ws, w), h.more[key]...)
	}
	h.mu.Unlock()
	for _, w := range ws {
		w.Wake(false)
	}
}

// WakeAll wakes every waiter: hints may have been lost, and with lost, the
// records they would have read too.
func (h *Hub) WakeAll(lost bool) {
	h.mu.Lock()
	ws := make([]Waiter, 0, len(h.one))
	for k, w := range h.one {
		ws = append(append(ws, w), h.more[k]...)
	}
	h.mu.Unlock()
	for _, w := range ws {
		w.Wake(lost)
	}
}

// Len is the number of keys waited for.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.one)
}
