package gemhook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Future is the outcome of one job, available once the job has settled.
// Its methods are safe for concurrent use; a pending Future costs a few
// hundred bytes and no goroutine.
type Future[T any] struct {
	name string
	val  T
	err  error
	// settlement is set before the future is ready, when a job settled it.
	settlement *Settlement

	// done is made by the first Done or blocking Wait, not with the
	// future: a channel is a hundred bytes, and a service may hold a
	// million futures that nobody waits on yet.
	mu    sync.Mutex
	ready bool // val, err and settlement are set
	done  chan struct{}
}

// closedChan is every settled future's Done before it had one of its own.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func newFuture[T any](name string) *Future[T] {
	return &Future[T]{name: name}
}

// isReady reports whether f has settled; its fields may then be read.
func (f *Future[T]) isReady() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}

// failed returns a Future that is already settled with err: a submission
// that never reached Gemini, or a client that was closed.
func failed[T any](err error) *Future[T] {
	f := newFuture[T]("")
	f.resolve(*new(T), err)
	return f
}

// Wait blocks until the job settles or ctx is done. It may be called any
// number of times from any number of goroutines and always returns the same
// outcome:
//
//   - the job object and nil: the job succeeded (for an interaction, also
//     when it stopped in requires_action and waits for the caller);
//   - the job object and a *JobError: the job failed, expired or was
//     cancelled;
//   - a zero T and an error wrapping genai's: the job could not be submitted
//     or looked up;
//   - a zero T and ErrClosed: the Client, or its Receiver, was closed
//     first.
//
// If ctx is done first, Wait returns ctx.Err() and the Future stays pending,
// so a later Wait can still collect the outcome.
func (f *Future[T]) Wait(ctx context.Context) (T, error) {
	if f.isReady() {
		return f.val, f.err
	}
	select {
	case <-f.Done():
		return f.val, f.err
	case <-ctx.Done():
		return *new(T), ctx.Err()
	}
}

// Done is closed once the job has settled; Wait then returns at once.
func (f *Future[T]) Done() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.done != nil:
	case f.ready:
		return closedChan
	default:
		f.done = make(chan struct{})
	}
	return f.done
}

// Name is the job's resource name ("batches/x", "models/m/operations/x",
// "interactions/x"), or "" if it was never created.
func (f *Future[T]) Name() string { return f.name }

// SubmitErr reports, without blocking, why the job was never created or
// attached: the create call's error, ErrInvalidArgument or ErrClosed. It is
// nil once the job exists at Gemini (Name is set), whatever its outcome.
// Submit* and the other creating calls return after Gemini has answered
// the create call, so SubmitErr already knows: save Name for a restart
// when it is nil.
func (f *Future[T]) SubmitErr() error {
	if f.name != "" {
		return nil
	}
	if f.isReady() {
		return f.err
	}
	return nil
}

// resolve settles f; only the first of any number of concurrent calls has
// an effect.
func (f *Future[T]) resolve(v T, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ready {
		return
	}
	f.val, f.err, f.ready = v, err, true
	if f.done != nil {
		close(f.done)
	}
}

// WaitAll waits for every future and returns their values in order. If
// some failed, the error is a *WaitAllError listing them (errors.As); each
// failure's error (a *JobError, a submission error, ...) is also found by
// errors.As and errors.Is through it. A value whose future failed with a
// *JobError is still set. If ctx is done first, WaitAll returns ctx.Err()
// at once and the futures stay pending. It starts no goroutines.
func WaitAll[T any](ctx context.Context, fs ...*Future[T]) ([]T, error) {
	vals := make([]T, len(fs))
	var failed []Failure
	for i, f := range fs {
		v, err := f.Wait(ctx)
		if ctxErr := ctx.Err(); ctxErr != nil && err == ctxErr {
			return vals, ctxErr
		}
		vals[i] = v
		if err != nil {
			failed = append(failed, Failure{Index: i, Name: f.name, Err: err})
		}
	}
	if len(failed) == 0 {
		return vals, nil
	}
	return vals, &WaitAllError{Failed: failed, Total: len(fs)}
}

// SettledBy says what settled a job's future.
type SettledBy string

// How futures settle.
const (
	// SettledByWebhook: a verified webhook delivery said the job ended, and
	// the confirming get agreed.
	SettledByWebhook SettledBy = "webhook"
	// SettledByPoll: a fallback poll found the job ended; no webhook about
	// it had been accepted.
	SettledByPoll SettledBy = "poll"
	// SettledByAttach: the first look at the job found it ended (Await* on
	// a job that had already ended, or a Create that returned a final job).
	SettledByAttach SettledBy = "attach"
	// SettledByStore: another replica (or another Client sharing the
	// Receiver) recorded the outcome in the Store first.
	SettledByStore SettledBy = "store"
)

// Settlement is how and when a future settled.
type Settlement struct {
	By SettledBy
	// Ended is when the job ended at Gemini, as the API reports it
	// (BatchJob.EndTime, Interaction.Updated); zero when it does not say,
	// as for video operations.
	Ended time.Time
	// Noticed is when this process settled the future, on the Client's
	// clock.
	Noticed time.Time
}

// Late is how long after its end the job was noticed; 0 when Ended is
// unknown.
func (s Settlement) Late() time.Duration {
	if s.Ended.IsZero() {
		return 0
	}
	return max(s.Noticed.Sub(s.Ended), 0)
}

// Settlement reports how and when the job settled. ok is false while the
// future is pending, and for one that settled without a job: its
// submission failed, or its Client was closed first.
func (f *Future[T]) Settlement() (s Settlement, ok bool) {
	if !f.isReady() || f.settlement == nil {
		return Settlement{}, false
	}
	return *f.settlement, true
}

// WaitAllError is WaitAll's error when some futures failed: which ones,
// in order, out of how many. errors.As finds each *JobError through it.
type WaitAllError struct {
	Failed []Failure
	Total  int // futures WaitAll waited for
}

// Failure is one failed future of a WaitAll.
type Failure struct {
	Index int    // position among WaitAll's futures
	Name  string // job name; "" if the job was never created
	Err   error  // a *JobError, a submission error, ErrInvalidArgument or ErrClosed
}

// Error names each job once: "gemhook: 2 of 5 jobs failed: batches/a
// ended in JOB_STATE_FAILED (code 13: ...); batches/b: gemhook: closed".
func (e *WaitAllError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gemhook: %d of %d jobs failed: ", len(e.Failed), e.Total)
	for i, f := range e.Failed {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.describe())
	}
	return b.String()
}

// Unwrap returns every failure's error, for errors.Is and errors.As.
func (e *WaitAllError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f.Err
	}
	return errs
}

func (f Failure) describe() string {
	var je *JobError
	if errors.As(f.Err, &je) && je.Name == f.Name {
		return je.Name + je.outcome()
	}
	msg := f.Err.Error()
	switch {
	case f.Name == "":
		return fmt.Sprintf("#%d: %s", f.Index, msg)
	case strings.Contains(msg, f.Name):
		return msg
	}
	return f.Name + ": " + msg
}
