package reconcile

import "time"

// Clock is the time source of a Scheduler. Tests substitute one they
// advance by hand; production uses System.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer whose channel receives once this clock has
	// reached at. Deadlines are absolute so that a clock that moves between
	// the Scheduler's Now and its Reset cannot push the deadline back.
	NewTimer(at time.Time) Timer
}

// Timer is the part of *time.Timer a Scheduler uses, with absolute
// deadlines.
type Timer interface {
	C() <-chan time.Time
	// Reset re-arms the timer for at; a value not yet received is dropped.
	Reset(at time.Time)
	Stop()
}

// System reads the time from now (time.Now when nil) and waits with real
// timers: due times are judged by now, waits by the wall clock. An
// injected now that moves with the wall clock works; one that stands still
// or is moved by hand does not (an entry due later than a frozen now never
// fires, and one made due by a jump waits out the timer already set). Use
// a Clock whose timers follow the injected time for that.
type System struct{ NowFunc func() time.Time }

// Now implements Clock.
func (s System) Now() time.Time {
	if s.NowFunc != nil {
		return s.NowFunc()
	}
	return time.Now()
}

// NewTimer implements Clock.
func (s System) NewTimer(at time.Time) Timer {
	return realTimer{time.NewTimer(at.Sub(s.Now())), s}
}

type realTimer struct {
	t     *time.Timer
	clock System
}

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Reset(at time.Time)  { r.t.Reset(at.Sub(r.clock.Now())) }
func (r realTimer) Stop()               { r.t.Stop() }
