package reconcile

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// fakeClock moves only when Advance is called; timers fire then.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c     *fakeClock
	ch    chan time.Time
	at    time.Time
	armed bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(at time.Time) Timer {
	t := &fakeTimer{c: c, ch: make(chan time.Time, 1)}
	t.Reset(at)
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if t.armed && !t.at.After(c.now) {
			t.armed = false
			select {
			case t.ch <- c.now:
			default:
			}
		}
	}
	c.mu.Unlock()
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(at time.Time) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	select { // like time.Timer since Go 1.23: no stale value after Reset
	case <-t.ch:
	default:
	}
	t.at, t.armed = at, true
	if !at.After(t.c.now) {
		t.armed = false
		t.ch <- t.c.now
	}
	for _, x := range t.c.timers {
		if x == t {
			return
		}
	}
	t.c.timers = append(t.c.timers, t)
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	t.armed = false
	t.c.mu.Unlock()
}

// recorder collects firings on a channel so the test can wait for them.
type recorder struct {
	name  string
	fired chan string
	entry Entry
}

func (r *recorder) Fire(time.Time) { r.fired <- r.name }

func expect(t *testing.T, fired chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-fired:
			if got != w {
				t.Fatalf("fired %q, want %q", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %q", w)
		}
	}
}

func expectNone(t *testing.T, s *Scheduler, fired chan string) {
	t.Helper()
	// Len under the lock is a barrier: the loop pops before it fires.
	s.Len()
	select {
	case got := <-fired:
		t.Fatalf("unexpected firing of %q", got)
	default:
	}
}

func TestSchedulerFiresInDueOrder(t *testing.T) {
	defer leaktest.Check(t)()
	clk := newFakeClock()
	s := New(clk)
	defer s.Close()
	fired := make(chan string, 10)
	a := &recorder{name: "a", fired: fired}
	b := &recorder{name: "b", fired: fired}
	c := &recorder{name: "c", fired: fired}
	now := clk.Now()
	s.Schedule(&b.entry, b, now.Add(2*time.Minute))
	s.Schedule(&a.entry, a, now.Add(time.Minute))
	s.Schedule(&c.entry, c, now.Add(3*time.Minute))
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	clk.Advance(90 * time.Second)
	expect(t, fired, "a")
	clk.Advance(5 * time.Minute)
	expect(t, fired, "b", "c")
	if s.Len() != 0 {
		t.Fatalf("Len = %d after firing, want 0", s.Len())
	}
}

func TestSchedulerRescheduleAndCancel(t *testing.T) {
	defer leaktest.Check(t)()
	clk := newFakeClock()
	s := New(clk)
	defer s.Close()
	fired := make(chan string, 10)
	a := &recorder{name: "a", fired: fired}
	b := &recorder{name: "b", fired: fired}
	now := clk.Now()
	s.Schedule(&a.entry, a, now.Add(time.Minute))
	s.Schedule(&b.entry, b, now.Add(2*time.Minute))
	s.Schedule(&a.entry, a, now.Add(3*time.Minute)) // moved behind b
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
	if !s.Cancel(&b.entry) || s.Cancel(&b.entry) {
		t.Fatal("Cancel should report true once, then false")
	}
	clk.Advance(2 * time.Minute)
	expectNone(t, s, fired)
	clk.Advance(time.Minute)
	expect(t, fired, "a")
	var never recorder
	if s.Cancel(&never.entry) {
		t.Fatal("Cancel of a zero Entry reported true")
	}
}

func TestSchedulerPastDueFiresAtOnce(t *testing.T) {
	defer leaktest.Check(t)()
	clk := newFakeClock()
	s := New(clk)
	defer s.Close()
	fired := make(chan string, 1)
	a := &recorder{name: "a", fired: fired}
	s.Schedule(&a.entry, a, clk.Now().Add(-time.Second))
	expect(t, fired, "a")
}

func TestSchedulerClose(t *testing.T) {
	defer leaktest.Check(t)()
	clk := newFakeClock()
	s := New(clk)
	fired := make(chan string, 1)
	a := &recorder{name: "a", fired: fired}
	s.Schedule(&a.entry, a, clk.Now().Add(time.Minute))
	s.Close()
	s.Close() // idempotent
	if s.Schedule(&a.entry, a, clk.Now()) {
		t.Fatal("Schedule after Close reported true")
	}
	clk.Advance(time.Hour)
	select {
	case <-fired:
		t.Fatal("fired after Close")
	default:
	}
}

func TestSchedulerManyEntriesOneGoroutine(t *testing.T) {
	defer leaktest.Check(t)()
	clk := newFakeClock()
	s := New(clk)
	defer s.Close()
	const n = 10_000
	fired := make(chan string, n)
	rs := make([]recorder, n)
	now := clk.Now()
	for i := range rs {
		rs[i] = recorder{name: "x", fired: fired}
		s.Schedule(&rs[i].entry, &rs[i], now.Add(time.Duration(n-i)*time.Millisecond))
	}
	clk.Advance(time.Duration(n) * time.Millisecond)
	for i := 0; i < n; i++ {
		expect(t, fired, "x")
	}
}

func TestSystemClockWaitsInRealTime(t *testing.T) {
	defer leaktest.Check(t)()
	s := New(System{})
	defer s.Close()
	fired := make(chan string, 1)
	a := &recorder{name: "a", fired: fired}
	s.Schedule(&a.entry, a, time.Now().Add(5*time.Millisecond))
	expect(t, fired, "a")
}

// laggingClock reads one Now behind by lag: as if the clock moved right
// after the Scheduler read it and before it armed its timer.
type laggingClock struct {
	*fakeClock
	calls chan struct{}
	lag   atomic.Int64
}

func (c *laggingClock) Now() time.Time {
	now := c.fakeClock.Now()
	if d := c.lag.Swap(0); d != 0 {
		now = now.Add(-time.Duration(d))
	}
	select {
	case c.calls <- struct{}{}:
	default:
	}
	return now
}

// A clock that moves between the Scheduler's Now and its timer's Reset
// must not push the deadline back by the move: with relative timers the
// entry below waited for a time the clock had already passed, for ever.
func TestSchedulerClockMovesBeforeTimerIsArmed(t *testing.T) {
	defer leaktest.Check(t)()
	clk := &laggingClock{fakeClock: newFakeClock(), calls: make(chan struct{}, 1)}
	s := New(clk)
	defer s.Close()
	<-clk.calls // the loop has looked at an empty queue
	fired := make(chan string, 1)
	a := &recorder{name: "a", fired: fired}
	t0 := clk.fakeClock.Now()
	clk.fakeClock.Advance(2 * time.Minute)
	clk.lag.Store(int64(2 * time.Minute))
	s.Schedule(&a.entry, a, t0.Add(time.Minute))
	expect(t, fired, "a")
}
