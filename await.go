package gemhook

import (
	"context"
	"sync"
	"sync/atomic"
)

// Future is the outcome of one job, available once the job has settled.
// Its methods are safe for concurrent use; a pending Future costs a few
// hundred bytes and no goroutine.
type Future[T any] struct {
	name     string
	resolved atomic.Bool // claimed by the first resolve
	val      T
	err      error
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

// resolve settles f and reports whether this call did; only the first of
// any number of concurrent calls has an effect.
func (f *Future[T]) resolve(v T, err error) bool {
	if !f.resolved.CompareAndSwap(false, true) {
		return false
	}
	f.val, f.err = v, err
	f.mu.Lock()
	f.ready = true
	if f.done != nil {
		close(f.done)
	}
	f.mu.Unlock()
	return true
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
