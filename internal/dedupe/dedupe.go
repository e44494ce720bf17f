// Package dedupe remembers which webhook deliveries have been handled, so
// that the at-least-once retries of one delivery are acted on once.
//
// A Set holds two kinds of entry. An in-flight entry belongs to the one
// request that is handling a delivery right now; identical requests that
// arrive meanwhile wait for its outcome instead of handling it again. A done
// entry records a delivery that was handled successfully, for a TTL. Done
// entries are capped in number: when the cap is reached the oldest is
// forgotten first. In-flight entries are not capped here; there is one per
// request being served, so the server's own limits bound them.
//
// The Set starts no goroutines: expired entries are dropped lazily.
package dedupe

import (
	"context"
	"sync"
	"time"
)

// Defaults for Config's zero values. The TTL covers a sender's 24-hour
// retry horizon with a margin, so a redelivery after a lost 2xx is still
// recognised.
const (
	DefaultTTL  = 25 * time.Hour
	DefaultSize = 100_000
)

// Config configures a Set. The zero value is usable.
type Config struct {
	TTL  time.Duration    // how long a handled id is remembered; default DefaultTTL
	Size int              // most handled ids remembered at once; default DefaultSize
	Now  func() time.Time // default time.Now
}

// Set is safe for concurrent use.
type Set struct {
	ttl  time.Duration
	size int
	now  func() time.Time
	mu   sync.Mutex
	m    map[string]*entry
	ring []slot // done entries in the order they were completed; grows up to size
	head int    // index of the oldest slot
	n    int    // slots in use
}

type entry struct {
	call    *Call     // nil once done
	expires time.Time // set once done
}

type slot struct {
	id string
	e  *entry
}

// New returns an empty Set.
func New(cfg Config) *Set {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Size <= 0 {
		cfg.Size = DefaultSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Set{
		ttl:  cfg.TTL,
		size: cfg.Size,
		now:  cfg.Now,
		m:    make(map[string]*entry),
	}
}

// Call is the handling of one delivery by one request. The request that
// claimed it reports the outcome with Set.Finish; the others Wait for it.
type Call struct {
	done chan struct{}
	err  error
}

// doneCall stands for an id that was handled before: waiting on it returns
// nil at once.
var doneCall = func() *Call {
	c := &Call{done: make(chan struct{})}
	close(c.done)
	return c
}()

// Wait blocks until the call has finished or ctx is done, and returns the
// handling request's error, or ctx's.
func (c *Call) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.err
	default:
	}
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Claim looks id up. If nobody has handled it or is handling it, Claim
// records an in-flight entry and returns it with first set: the caller must
// then handle the delivery and call Finish exactly once. Otherwise it returns
// the call to wait for, which is already finished if id was handled before.
func (s *Set) Claim(id string) (c *Call, first bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	if e, ok := s.m[id]; ok {
		if e.call != nil {
			return e.call, false
		}
		if now.Before(e.expires) {
			return doneCall, false
		}
		// Expired but not yet reached by expire (the clock went back,
		// or the ring order and the clock disagree): claim afresh.
	}
	c = &Call{done: make(chan struct{})}
	s.m[id] = &entry{call: c}
	return c, true
}

// Finish ends the call c that Claim returned for id. With err nil, id is
// remembered as handled for the TTL. With an error, the in-flight entry is
// dropped so that a retry of the delivery is handled afresh; the requests
// waiting on c get err.
func (s *Set) Finish(id string, c *Call, err error) {
	now := s.now()
	s.mu.Lock()
	e := s.m[id]
	if e == nil || e.call != c {
		s.mu.Unlock()
		panic("dedupe: Finish without a matching Claim")
	}
	if err != nil {
		delete(s.m, id)
	} else {
		e.call = nil
		e.expires = now.Add(s.ttl)
		s.push(id, e)
	}
	s.mu.Unlock()
	c.err = err
	close(c.done)
}

// Len returns the number of entries, in flight and done.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// push appends a done entry, forgetting the oldest one if the ring is full.
func (s *Set) push(id string, e *entry) {
	if s.n == len(s.ring) {
		if len(s.ring) < s.size {
			s.grow()
		} else {
			s.pop()
		}
	}
	s.ring[(s.head+s.n)%len(s.ring)] = slot{id: id, e: e}
	s.n++
}

// grow doubles the ring, up to size, keeping the slots in order.
func (s *Set) grow() {
	ring := make([]slot, min(max(2*len(s.ring), 64), s.size))
	for i := 0; i < s.n; i++ {
		ring[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	s.ring, s.head = ring, 0
}

// pop forgets the oldest done entry, unless its id has since been claimed
// again (then the map holds a newer entry, which stays).
func (s *Set) pop() {
	old := &s.ring[s.head]
	if s.m[old.id] == old.e {
		delete(s.m, old.id)
	}
	*old = slot{}
	s.head = (s.head + 1) % len(s.ring)
	s.n--
}

// expire drops done entries whose TTL has passed. Entries are completed in
// ring order and share one TTL, so the expired ones are at the front.
func (s *Set) expire(now time.Time) {
	for s.n > 0 && !now.Before(s.ring[s.head].e.expires) {
		s.pop()
	}
}
