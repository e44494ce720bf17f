package reconcile

import "time"

// Clock is the time source of a Scheduler. Tests substitute one they
// advance by hand; production uses System.
type Clock interface {
	Now() time.Time
	// NewTimer returns a stopped-or-running timer whose channel receives
	// once the duration has passed on this clock.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer a Scheduler uses.
type Timer interface {
	C() <-chan time.Time
	Reset(d time.Duration)
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
func (System) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTimer) Stop()                 { r.t.Stop() }
