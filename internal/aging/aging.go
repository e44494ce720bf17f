// Package aging holds a bounded map whose entries expire a fixed time after
// they were put. Because the time to live is the same for every entry,
// insertion order is expiry order, and a FIFO of keys is all the index it
// needs: expiry and eviction cost O(1) per entry and start no goroutine.
package aging

import "time"

// Map is not safe for concurrent use; its owner locks.
type Map[V any] struct {
	ttl  time.Duration
	max  int
	m    map[string]entry[V]
	fifo []key // oldest first; may hold keys already taken
	head int
}

// Times are kept as Unix nanoseconds, not time.Time: a third of the size,
// which counts at a million entries.
type entry[V any] struct {
	v  V
	at int64
}

type key struct {
	k  string
	at int64
}

// New returns a Map whose entries live ttl and of which it holds at most
// max.
func New[V any](ttl time.Duration, max int) *Map[V] {
	return &Map[V]{ttl: ttl, max: max, m: make(map[string]entry[V])}
}

// Len is the number of entries held, expired or not.
func (a *Map[V]) Len() int { return len(a.m) }

// Get returns k's value.
func (a *Map[V]) Get(k string) (V, bool) {
	e, ok := a.m[k]
	return e.v, ok
}

// Take removes k and returns its value.
func (a *Map[V]) Take(k string) (V, bool) {
	e, ok := a.m[k]
	if ok {
		delete(a.m, k)
		a.compact()
	}
	return e.v, ok
}

// Put adds k unless present (the first value wins) and reports whether k
// is held now. When full it evicts the oldest entry if evict is set, and
// otherwise refuses.
func (a *Map[V]) Put(k string, v V, now time.Time, evict bool) bool {
	if _, ok := a.m[k]; ok {
		return true
	}
	for len(a.m) >= a.max {
		if !evict || !a.popOldest() {
			return false
		}
	}
	at := now.UnixNano()
	a.m[k] = entry[V]{v, at}
	a.fifo = append(a.fifo, key{k, at})
	return true
}

// Expire drops entries older than the TTL and reports how many.
func (a *Map[V]) Expire(now time.Time) int {
	n := 0
	cutoff := now.Add(-a.ttl).UnixNano()
	for a.head < len(a.fifo) && a.fifo[a.head].at <= cutoff {
		k := a.fifo[a.head]
		if e, ok := a.m[k.k]; ok && e.at == k.at {
			delete(a.m, k.k)
			n++
		}
		a.fifo[a.head] = key{}
		a.head++
	}
	a.compact()
	return n
}

// Each calls f for every entry, in no particular order.
func (a *Map[V]) Each(f func(k string, v V)) {
	for k, e := range a.m {
		f(k, e.v)
	}
}

func (a *Map[V]) popOldest() bool {
	for a.head < len(a.fifo) {
		k := a.fifo[a.head]
		a.fifo[a.head] = key{}
		a.head++
		if e, ok := a.m[k.k]; ok && e.at == k.at {
			delete(a.m, k.k)
			a.compact()
			return true
		}
	}
	a.compact()
	return false
}

// compact keeps the FIFO's dead prefix, and keys taken early, from growing
// without bound.
func (a *Map[V]) compact() {
	if a.head == len(a.fifo) {
		a.fifo, a.head = a.fifo[:0], 0
		return
	}
	if a.head > 1024 && a.head*2 > len(a.fifo) {
		n := copy(a.fifo, a.fifo[a.head:])
		clear(a.fifo[n:])
		a.fifo, a.head = a.fifo[:n], 0
	}
	// Taken entries leave stale keys behind; rebuild when they dominate.
	if live := len(a.m); len(a.fifo)-a.head > 4*live+1024 {
		kept := a.fifo[:0]
		for _, k := range a.fifo[a.head:] {
			if e, ok := a.m[k.k]; ok && e.at == k.at {
				kept = append(kept, k)
			}
		}
		clear(a.fifo[len(kept):])
		a.fifo, a.head = kept, 0
	}
}
