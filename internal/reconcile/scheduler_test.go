package reconcile

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The tests run in synctest bubbles: time moves only when every goroutine
// in the bubble waits, so a firing is seen at the instant it is due, and a
// bubble that ends with the Scheduler's goroutine still running fails.

// recorder sends its name to fired when it fires.
type recorder struct {
	name  string
	fired chan<- string
	entry Entry
}

func (r *recorder) Fire(time.Time) { r.fired <- r.name }

// want waits until the bubble is idle and checks that exactly the names
// given have fired since the last call, in that order.
func want(t *testing.T, fired <-chan string, names ...string) {
	t.Helper()
	synctest.Wait()
	var got []string
	for len(fired) > 0 {
		got = append(got, <-fired)
	}
	if !slices.Equal(got, names) {
		t.Fatalf("at %v: fired %q, want %q", time.Now().UTC(), got, names)
	}
}

func TestSchedulerFiresInDueOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := New(nil)
		defer s.Close()
		fired := make(chan string, 10)
		a := &recorder{name: "a", fired: fired}
		b := &recorder{name: "b", fired: fired}
		c := &recorder{name: "c", fired: fired}
		now := time.Now()
		s.Schedule(&b.entry, b, now.Add(2*time.Minute))
		s.Schedule(&a.entry, a, now.Add(time.Minute))
		s.Schedule(&c.entry, c, now.Add(2*time.Minute+time.Second))
		if s.Len() != 3 {
			t.Fatalf("Len = %d, want 3", s.Len())
		}
		time.Sleep(time.Minute - time.Nanosecond)
		want(t, fired)
		time.Sleep(time.Nanosecond)
		want(t, fired, "a")
		time.Sleep(5 * time.Minute)
		want(t, fired, "b", "c")
		if s.Len() != 0 {
			t.Fatalf("Len = %d after firing, want 0", s.Len())
		}
	})
}

func TestSchedulerRescheduleAndCancel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := New(nil)
		defer s.Close()
		fired := make(chan string, 10)
		a := &recorder{name: "a", fired: fired}
		b := &recorder{name: "b", fired: fired}
		now := time.Now()
		s.Schedule(&a.entry, a, now.Add(time.Minute))
		s.Schedule(&b.entry, b, now.Add(2*time.Minute))
		s.Schedule(&a.entry, a, now.Add(3*time.Minute)) // moved behind b
		if s.Len() != 2 {
			t.Fatalf("Len = %d, want 2", s.Len())
		}
		if !s.Cancel(&b.entry) || s.Cancel(&b.entry) {
			t.Fatal("Cancel should report true once, then false")
		}
		time.Sleep(3*time.Minute - time.Nanosecond)
		want(t, fired)
		time.Sleep(time.Nanosecond)
		want(t, fired, "a")
		var never recorder
		if s.Cancel(&never.entry) {
			t.Fatal("Cancel of a zero Entry reported true")
		}
	})
}

func TestSchedulerPastDueFiresAtOnce(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := New(nil)
		defer s.Close()
		fired := make(chan string, 1)
		a := &recorder{name: "a", fired: fired}
		s.Schedule(&a.entry, a, time.Now().Add(-time.Second))
		want(t, fired, "a")
	})
}

func TestSchedulerClose(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := New(nil)
		fired := make(chan string, 1)
		a := &recorder{name: "a", fired: fired}
		s.Schedule(&a.entry, a, time.Now().Add(time.Minute))
		s.Close()
		s.Close() // idempotent
		if s.Schedule(&a.entry, a, time.Now()) {
			t.Fatal("Schedule after Close reported true")
		}
		time.Sleep(time.Hour)
		want(t, fired)
	})
}

// Due times are judged by the injected now, not by the wall clock.
func TestSchedulerJudgesDueTimesByNow(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ahead := func() time.Time { return time.Now().Add(time.Hour) }
		s := New(ahead)
		defer s.Close()
		fired := make(chan string, 2)
		a := &recorder{name: "a", fired: fired}
		b := &recorder{name: "b", fired: fired}
		s.Schedule(&a.entry, a, time.Now().Add(30*time.Minute))
		s.Schedule(&b.entry, b, ahead().Add(time.Minute))
		want(t, fired, "a")
		time.Sleep(time.Minute)
		want(t, fired, "b")
	})
}

// A clock that moves between the Scheduler's reading of now and the arming
// of its timer must not push the deadline back by the move. Here the
// loop's reading lags the clock by two minutes, as if the clock moved just
// after it: the entry, due a minute before the clock's time, must fire at
// once and not a minute later.
func TestSchedulerClockMovesBeforeTimerIsArmed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var lag atomic.Int64
		s := New(func() time.Time { return time.Now().Add(-time.Duration(lag.Swap(0))) })
		defer s.Close()
		synctest.Wait() // the loop has looked at an empty queue
		fired := make(chan string, 1)
		a := &recorder{name: "a", fired: fired}
		t0 := time.Now()
		time.Sleep(2 * time.Minute)
		lag.Store(int64(2 * time.Minute))
		s.Schedule(&a.entry, a, t0.Add(time.Minute))
		want(t, fired, "a")
	})
}

// running counts the goroutines serving a Scheduler. Those of tests
// that have returned are gone: a bubble ends once its goroutines have.
func running() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "reconcile.(*Scheduler).run(")
}

// Not parallel: the other tests' Schedulers would be counted.
func TestSchedulerManyEntriesOneGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := running()
		s := New(nil)
		defer s.Close()
		const n = 10_000
		fired := make(chan string, n)
		rs := make([]recorder, n)
		now := time.Now()
		for i := range rs {
			rs[i] = recorder{name: fmt.Sprint(i), fired: fired}
			s.Schedule(&rs[i].entry, &rs[i], now.Add(time.Duration(n-i)*time.Millisecond))
		}
		if g := running() - before; g != 1 {
			t.Fatalf("%d entries run %d goroutines, want 1", n, g)
		}
		time.Sleep(n * time.Millisecond)
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprint(n - 1 - i)
		}
		want(t, fired, names...)
	})
}
