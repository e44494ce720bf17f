// Package hub routes verified webhook events to the jobs that wait for
// them. One Hub serves one Receiver and every Client that shares it.
//
// It keeps three things, all bounded: the waiters of pending jobs, keyed by
// resource name; orphans, terminal events that arrived before their job was
// registered (a delivery can beat Create's response); and tombstones of jobs
// that have settled, so that the redeliveries of at-least-once delivery are
// no-ops for a day instead of new orphans.
package hub

import (
	"errors"
	"sync"
	"time"
)

// Defaults for Config's zero values.
const (
	DefaultOrphanTTL     = 10 * time.Minute
	DefaultMaxOrphans    = 10_000
	DefaultTombstoneTTL  = 25 * time.Hour // Gemini retries deliveries for 24 h
	DefaultMaxTombstones = 100_000
)

// ErrFull means the orphan buffer is full: the event cannot be kept now and
// its sender should retry later.
var ErrFull = errors.New("hub: orphan buffer full")

// Note is what the hub passes on about one event.
type Note struct {
	Type     string // event type, e.g. "batch.failed"
	Terminal bool   // the event claims the job has settled
	Token    string // correlation token from the event's metadata, if any
	Code     string // error code from the event, if any
	Message  string // error message from the event, if any
}

// Waiter is a pending job. Wake is called (outside the hub's lock) for each
// event that names the job; it must return quickly and not call the hub.
type Waiter interface {
	Wake(Note)
}

// Config bounds a Hub. Zero values take the defaults above.
type Config struct {
	Now           func() time.Time
	OrphanTTL     time.Duration
	MaxOrphans    int
	TombstoneTTL  time.Duration
	MaxTombstones int
}

// Stats counts what a Hub holds and what it has dropped.
type Stats struct {
	Waiting, Orphans, Tombstones int
	OrphansExpired               uint64 // orphans nobody claimed within the TTL
	Duplicates                   uint64 // events for jobs that had already settled
}

// Hub is safe for concurrent use.
type Hub struct {
	now func() time.Time

	mu      sync.Mutex
	waiters map[string][]Waiter
	orphans aging[Note]
	tombs   aging[string]
	stats   Stats
}

// New returns an empty Hub.
func New(cfg Config) *Hub {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OrphanTTL <= 0 {
		cfg.OrphanTTL = DefaultOrphanTTL
	}
	if cfg.MaxOrphans <= 0 {
		cfg.MaxOrphans = DefaultMaxOrphans
	}
	if cfg.TombstoneTTL <= 0 {
		cfg.TombstoneTTL = DefaultTombstoneTTL
	}
	if cfg.MaxTombstones <= 0 {
		cfg.MaxTombstones = DefaultMaxTombstones
	}
	return &Hub{
		now:     cfg.Now,
		waiters: make(map[string][]Waiter),
		orphans: newAging[Note](cfg.OrphanTTL, cfg.MaxOrphans),
		tombs:   newAging[string](cfg.TombstoneTTL, cfg.MaxTombstones),
	}
}

// Register adds w as a waiter for key. If a terminal event for key was
// parked as an orphan, it is handed over in the same critical section, so
// an event can never fall between "not registered yet" and "registered":
// the orphan is returned and the caller treats it as if Wake had been
// called.
func (h *Hub) Register(key string, w Waiter) (Note, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	h.expire(now)
	h.waiters[key] = append(h.waiters[key], w)
	n, ok := h.orphans.take(key)
	return n, ok
}

// Unregister removes w without settling its job (its client is closing).
func (h *Hub) Unregister(key string, w Waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remove(key, w)
}

// Settle removes w and tombstones key with the outcome that settled it.
// Later events for key are acknowledged and dropped, and an orphan parked
// for key (its event beat a Create that already reported the job final) is
// dropped now instead of holding a slot until it expires.
func (h *Hub) Settle(key string, w Waiter, outcome string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remove(key, w)
	now := h.now()
	h.expire(now)
	h.orphans.take(key)
	h.tombs.put(key, outcome, now, true)
}

func (h *Hub) remove(key string, w Waiter) {
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

// Deliver routes one verified event about key. Waiters of key are woken.
// A terminal event for a job nobody waits for is parked as an orphan unless
// the job has settled here before; ErrFull means it could not be parked.
// Other events for unknown jobs are dropped.
func (h *Hub) Deliver(key string, n Note) error {
	var stack [2]Waiter
	var wake []Waiter
	h.mu.Lock()
	now := h.now()
	h.expire(now)
	if ws := h.waiters[key]; len(ws) > 0 {
		wake = append(stack[:0], ws...)
	} else if !n.Terminal {
		// Nothing to do: progress events are hints for waiters only.
	} else if _, ok := h.tombs.get(key); ok {
		h.stats.Duplicates++
	} else if !h.orphans.put(key, n, now, false) {
		h.mu.Unlock()
		return ErrFull
	}
	h.mu.Unlock()
	for _, w := range wake {
		w.Wake(n)
	}
	return nil
}

// Settled reports the outcome key settled with, if it is still remembered.
func (h *Hub) Settled(key string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expire(h.now())
	return h.tombs.get(key)
}

// Stats returns current counts.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expire(h.now())
	s := h.stats
	s.Waiting = len(h.waiters)
	s.Orphans = h.orphans.len()
	s.Tombstones = h.tombs.len()
	return s
}

func (h *Hub) expire(now time.Time) {
	h.stats.OrphansExpired += uint64(h.orphans.expire(now))
	h.tombs.expire(now)
}
