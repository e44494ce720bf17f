// Package reconcile runs the safety-net polls of pending jobs: one timer
// heap served by one goroutine, however many jobs are pending.
package reconcile

import (
	"container/heap"
	"sync"
	"time"
)

// Task is what an Entry fires. Fire runs on the scheduler's goroutine and
// must not block; at is the due time the entry was scheduled for, so a task
// rescheduled meanwhile can tell a stale firing from the current one.
type Task interface {
	Fire(at time.Time)
}

// Entry is a task's place in the heap. Embed it in the task's own struct so
// that scheduling allocates nothing; an Entry belongs to one Scheduler.
type Entry struct {
	at    time.Time
	index int // position in the heap; -1 when not scheduled
	task  Task
}

// Scheduler fires each scheduled Entry once its due time has come.
type Scheduler struct {
	now func() time.Time

	mu     sync.Mutex
	q      queue
	closed bool

	wake chan struct{} // a new earliest entry; capacity 1
	stop chan struct{}
	done chan struct{}
}

// New starts a Scheduler. Close stops it.
//
// Due times are judged by now (time.Now when nil), waits are measured by
// real timers. A now that moves with the wall clock works; one that stands
// still or is moved by hand delays firings instead of driving them: an
// entry due later than a frozen now never fires, and one made due by a
// jump waits out the timer already set.
func New(now func() time.Time) *Scheduler {
	if now == nil {
		now = time.Now
	}
	s := &Scheduler{
		now:  now,
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.run()
	return s
}

// Schedule makes e fire t at time at, moving it if it is already scheduled.
// It reports false after Close.
func (s *Scheduler) Schedule(e *Entry, t Task, at time.Time) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	e.at, e.task = at, t
	if e.scheduled(s) {
		heap.Fix(&s.q, e.index)
	} else {
		heap.Push(&s.q, e)
	}
	first := e.index == 0
	s.mu.Unlock()
	if first {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// Cancel unschedules e and reports whether it was scheduled.
func (s *Scheduler) Cancel(e *Entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !e.scheduled(s) {
		return false
	}
	heap.Remove(&s.q, e.index)
	e.task = nil
	return true
}

// Len is the number of scheduled entries.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.q)
}

// Close stops the goroutine and drops every entry; it returns once the
// goroutine has exited, so no task fires after Close returns.
func (s *Scheduler) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.closed = true
	for _, e := range s.q {
		e.index, e.task = -1, nil
	}
	s.q = nil
	s.mu.Unlock()
	close(s.stop)
	<-s.done
}

func (e *Entry) scheduled(s *Scheduler) bool {
	return e.task != nil && e.index >= 0 && e.index < len(s.q) && s.q[e.index] == e
}

type firing struct {
	t  Task
	at time.Time
}

func (s *Scheduler) run() {
	defer close(s.done)
	var timer *time.Timer
	var timerC <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var due []firing
	for {
		s.mu.Lock()
		now := s.now()
		for len(s.q) > 0 && !s.q[0].at.After(now) {
			e := heap.Pop(&s.q).(*Entry)
			due = append(due, firing{e.task, e.at})
			e.task = nil
		}
		var next time.Time
		pending := len(s.q) > 0
		if pending {
			next = s.q[0].at
		}
		s.mu.Unlock()

		for i, f := range due {
			f.t.Fire(f.at)
			due[i] = firing{}
		}
		due = due[:0]

		timerC = nil
		if pending {
			// Measured from a fresh reading: time spent firing, or a clock
			// that moved since now was read, must not push next back.
			d := next.Sub(s.now())
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			timerC = timer.C
		}
		select {
		case <-timerC:
		case <-s.wake:
		case <-s.stop:
			return
		}
	}
}

// queue is a min-heap of entries by due time.
type queue []*Entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}
func (q *queue) Push(x any) {
	e := x.(*Entry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *queue) Pop() any {
	old := *q
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*q = old[:n-1]
	return e
}
