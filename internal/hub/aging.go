package hub

import "time"

// aging is a map whose entries expire a fixed TTL after insertion. Because
// the TTL is the same for all, insertion order is expiry order, and a FIFO
// of keys is all the index it needs.
type aging[V any] struct {
	ttl  time.Duration
	max  int
	m    map[string]agingEntry[V]
	fifo []agingKey // oldest first; may hold keys already taken
	head int
}

// Times are kept as Unix nanoseconds, not time.Time: a third of the size,
// which counts at a million tombstones.
type agingEntry[V any] struct {
	v  V
	at int64
}

type agingKey struct {
	key string
	at  int64
}

func newAging[V any](ttl time.Duration, max int) aging[V] {
	return aging[V]{ttl: ttl, max: max, m: make(map[string]agingEntry[V])}
}

func (a *aging[V]) len() int { return len(a.m) }

func (a *aging[V]) get(key string) (V, bool) {
	e, ok := a.m[key]
	return e.v, ok
}

func (a *aging[V]) take(key string) (V, bool) {
	e, ok := a.m[key]
	if ok {
		delete(a.m, key)
		a.compact()
	}
	return e.v, ok
}

// put adds key unless present (the first value wins). When full it evicts
// the oldest entry if evict is set, and otherwise refuses.
func (a *aging[V]) put(key string, v V, now time.Time, evict bool) bool {
	if _, ok := a.m[key]; ok {
		return true
	}
	for len(a.m) >= a.max {
		if !evict || !a.popOldest() {
			return false
		}
	}
	at := now.UnixNano()
	a.m[key] = agingEntry[V]{v, at}
	a.fifo = append(a.fifo, agingKey{key, at})
	return true
}

// expire drops entries older than the TTL and reports how many.
func (a *aging[V]) expire(now time.Time) int {
	n := 0
	cutoff := now.Add(-a.ttl).UnixNano()
	for a.head < len(a.fifo) && a.fifo[a.head].at <= cutoff {
		k := a.fifo[a.head]
		if e, ok := a.m[k.key]; ok && e.at == k.at {
			delete(a.m, k.key)
			n++
		}
		a.fifo[a.head] = agingKey{}
		a.head++
	}
	a.compact()
	return n
}

func (a *aging[V]) popOldest() bool {
	for a.head < len(a.fifo) {
		k := a.fifo[a.head]
		a.fifo[a.head] = agingKey{}
		a.head++
		if e, ok := a.m[k.key]; ok && e.at == k.at {
			delete(a.m, k.key)
			a.compact()
			return true
		}
	}
	a.compact()
	return false
}

// compact keeps the FIFO's dead prefix, and keys taken early, from growing
// without bound.
func (a *aging[V]) compact() {
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
			if e, ok := a.m[k.key]; ok && e.at == k.at {
				kept = append(kept, k)
			}
		}
		clear(a.fifo[len(kept):])
		a.fifo, a.head = kept, 0
	}
}
