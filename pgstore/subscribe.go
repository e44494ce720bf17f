package pgstore

import "sync"

// maxQueued bounds the hints waiting for one slow subscriber; past it the
// keys are dropped and the subscriber resyncs instead, which covers them.
const maxQueued = 4096

// subscribers fans hints out. Each subscriber has a goroutine of its own so
// that a slow one delays nobody else, and a queue of distinct keys.
type subscribers struct {
	mu        sync.Mutex
	set       map[*subscriber]struct{}
	listening bool // LISTEN is in force: hints flow
	closed    bool
}

type subscriber struct {
	hint   func(string)
	resync func(lost bool)

	mu       sync.Mutex
	queued   map[string]struct{}
	order    []string
	doResync bool

	wake chan struct{} // capacity 1
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// Subscribe implements gemhook.Store. stop must not be called from inside
// hint or resync (it waits for them to return).
func (s *Store) Subscribe(hint func(key string), resync func(lost bool)) (stop func()) {
	sub := &subscriber{
		hint: hint, resync: resync,
		queued: map[string]struct{}{},
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	ss := &s.subs
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return func() {}
	}
	if ss.set == nil {
		ss.set = map[*subscriber]struct{}{}
	}
	ss.set[sub] = struct{}{}
	if ss.listening {
		// Established already: this subscription starts now.
		sub.push("", true)
	}
	ss.mu.Unlock()
	go sub.run()
	return func() {
		ss.mu.Lock()
		delete(ss.set, sub)
		ss.mu.Unlock()
		sub.stop()
	}
}

// established is called after every successful LISTEN; lost after the
// listening connection fails.
func (ss *subscribers) established() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.listening = true
	for sub := range ss.set {
		sub.push("", true)
	}
}

func (ss *subscribers) lost() {
	ss.mu.Lock()
	ss.listening = false
	ss.mu.Unlock()
}

func (ss *subscribers) hint(key string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for sub := range ss.set {
		sub.push(key, false)
	}
}

func (ss *subscribers) closeAll() {
	ss.mu.Lock()
	ss.closed = true
	set := ss.set
	ss.set = nil
	ss.mu.Unlock()
	for sub := range set {
		sub.stop()
	}
}

func (sub *subscriber) push(key string, resync bool) {
	sub.mu.Lock()
	switch {
	case resync:
		sub.doResync = true
	case len(sub.order) >= maxQueued:
		// Too far behind: a resync reads everything these keys would.
		sub.doResync = true
		sub.queued = map[string]struct{}{}
		sub.order = nil
	default:
		if _, ok := sub.queued[key]; !ok {
			sub.queued[key] = struct{}{}
			sub.order = append(sub.order, key)
		}
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *subscriber) run() {
	defer close(sub.done)
	for {
		select {
		case <-sub.quit:
			return
		case <-sub.wake:
		}
		sub.mu.Lock()
		resync, keys := sub.doResync, sub.order
		sub.doResync, sub.order = false, nil
		clear(sub.queued)
		sub.mu.Unlock()
		if resync {
			select {
			case <-sub.quit:
				return
			default:
			}
			sub.resync(false) // rows are durable: only hints were lost
		}
		for _, k := range keys {
			select {
			case <-sub.quit:
				return
			default:
			}
			sub.hint(k)
		}
	}
}

func (sub *subscriber) stop() {
	sub.once.Do(func() { close(sub.quit) })
	<-sub.done
}
