package gemhooktest

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler runs timed work from one timer heap. Job endings run on its own
// goroutine (they only take the server lock and queue deliveries); delivery
// attempts go to a fixed pool of workers. No goroutine is started per job
// or per delivery, and the queue of attempts is bounded.
type scheduler struct {
	mu         sync.Mutex
	h          entries
	seq        uint64
	attempts   int // attempts in h
	maxPending int

	wake chan struct{}
	work chan *attempt
	done chan struct{}
	wg   sync.WaitGroup
}

// entry is one timed piece of work: inline runs on the scheduler goroutine,
// att goes to a worker.
type entry struct {
	due    time.Time
	tie    uint64
	inline func()
	att    *attempt
}

type entries []entry

func (h entries) Len() int { return len(h) }
func (h entries) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].tie < h[j].tie
}
func (h entries) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *entries) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *entries) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = entry{}
	*h = old[:len(old)-1]
	return e
}

func newScheduler(workers, maxPending int, deliver func(*attempt)) *scheduler {
	s := &scheduler{
		maxPending: maxPending,
		wake:       make(chan struct{}, 1),
		work:       make(chan *attempt),
		done:       make(chan struct{}),
	}
	s.wg.Add(1 + workers)
	go s.loop()
	for range workers {
		go func() {
			defer s.wg.Done()
			for {
				select {
				case a := <-s.work:
					deliver(a)
				case <-s.done:
					return
				}
			}
		}()
	}
	return s
}

// at queues fn to run at due on the scheduler goroutine.
func (s *scheduler) at(due time.Time, fn func()) {
	s.push(entry{due: due, inline: fn}, false)
}

// attempt queues a delivery attempt. A zero tie keeps first-in first-out
// order among attempts due at the same instant; Reorder passes random ties.
// It reports false when the queue is full.
func (s *scheduler) attempt(due time.Time, tie uint64, a *attempt) bool {
	return s.push(entry{due: due, tie: tie, att: a}, true)
}

func (s *scheduler) push(e entry, isAttempt bool) bool {
	s.mu.Lock()
	if isAttempt {
		if s.attempts >= s.maxPending {
			s.mu.Unlock()
			return false
		}
		s.attempts++
	}
	if e.tie == 0 {
		s.seq++
		e.tie = s.seq
	}
	heap.Push(&s.h, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

func (s *scheduler) loop() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		var wait time.Duration = -1
		var e entry
		ready := false
		if len(s.h) > 0 {
			if d := time.Until(s.h[0].due); d > 0 {
				wait = d
			} else {
				e = heap.Pop(&s.h).(entry)
				if e.att != nil {
					s.attempts--
				}
				ready = true
			}
		}
		s.mu.Unlock()
		if ready {
			if e.inline != nil {
				e.inline()
				continue
			}
			select {
			case s.work <- e.att:
			case <-s.done:
				return
			}
			continue
		}
		if wait < 0 {
			wait = time.Hour
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-s.wake:
		case <-s.done:
			return
		}
	}
}

func (s *scheduler) close() {
	close(s.done)
	s.wg.Wait()
}
