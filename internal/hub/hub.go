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
type Hub struct {
	mu      sync.Mutex
	waiters map[string][]Waiter
}

// New returns an empty Hub.
func New() *Hub {
	return &Hub{waiters: make(map[string][]Waiter)}
}

// Register adds w as a waiter for key.
func (h *Hub) Register(key string, w Waiter) {
	h.mu.Lock()
	h.waiters[key] = append(h.waiters[key], w)
	h.mu.Unlock()
}

// Unregister removes w.
func (h *Hub) Unregister(key string, w Waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ws := h.waiters[key]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(h.waiters, key)
	} else {
		h.waiters[key] = ws
	}
}

// Wake wakes the waiters of key.
func (h *Hub) Wake(key string) {
	var stack [2]Waiter
	h.mu.Lock()
	ws := append(stack[:0], h.waiters[key]...)
	h.mu.Unlock()
	for _, w := range ws {
		w.Wake(false)
	}
}

// WakeAll wakes every waiter: hints may have been lost, and with lost, the
// records they would have read too.
func (h *Hub) WakeAll(lost bool) {
	h.mu.Lock()
	var ws []Waiter
	for _, l := range h.waiters {
		ws = append(ws, l...)
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
	return len(h.waiters)
}
