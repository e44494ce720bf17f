package gemhook

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"google.golang.org/genai"
	"google.golang.org/genai/interactions/models/apierrors"

	"github.com/gemhook/gemhook/internal/hub"
	"github.com/gemhook/gemhook/internal/reconcile"
)

// callTimeout bounds one confirming get or poll.
const callTimeout = time.Minute

// kind describes one sort of job: how to fetch it and when it has settled.
type kind[T any] struct {
	name string
	get  func(ctx context.Context, c *Client, name string) (T, error)
	// settled reports whether v is final. A final v that is a failure comes
	// with a *JobError; hint carries the event's code and message for APIs
	// that don't report them. outcome names the final state for logs.
	settled func(v T, name string, hint hub.Note) (ok bool, outcome string, err error)
}

type phase uint8

const (
	idle    phase = iota // waiting for an event or a poll
	queued               // a check is queued
	running              // a check is in flight
	settled              // the future is resolved
)

// watch tracks one pending job. It is the hub's Waiter, the scheduler's
// Task and the workers' checker, so a pending job is one allocation.
type watch[T any] struct {
	Future[T]
	c     *Client
	kind  *kind[T]
	key   string // hub key
	token string // correlation token sent in the job's metadata, if any
	entry reconcile.Entry

	mu     sync.Mutex
	phase  phase
	again  bool      // an event arrived while a check ran
	hinted bool      // a terminal event arrived; a lagging API gets a quick recheck
	step   uint8     // backoff step of polls or retries
	pollAt int64     // due time (Unix ns) of the scheduled poll, to spot stale firings
	hint   *hub.Note // the first terminal event, for its code and message

	attached   bool // Await*: decidePace on the first check
	unreported bool // no webhook will report it: poll at Fallback.Unreported
}

// start registers a job that exists at Gemini and returns its future. With
// checkNow the job is fetched at once (Await*); otherwise it waits for its
// webhook, with a fallback poll.
func start[T any](c *Client, k *kind[T], name, key, token string, checkNow bool) *Future[T] {
	w := &watch[T]{c: c, kind: k, key: key, token: token, attached: checkNow}
	w.Future = Future[T]{name: name, done: make(chan struct{})}
	if !c.track(w) {
		// The job exists at Gemini: keep its name, so that the caller can
		// still attach to it with Await* from another Client.
		w.resolve(*new(T), ErrClosed)
		return &w.Future
	}
	if n, ok := c.hub.Register(key, w); ok {
		// The orphan may be ignored (another job's token); the job then
		// still needs its first check or fallback poll below.
		w.Wake(n)
	}
	w.mu.Lock()
	switch {
	case w.phase == settled:
		// Close settled w between track and Register, and its Unregister
		// may have come first: take w out of the hub, which outlives the
		// Client.
		w.mu.Unlock()
		c.hub.Unregister(key, w)
		return &w.Future
	case w.phase != idle:
	case checkNow:
		w.phase = queued
		defer w.queue()
	case c.polling:
		w.scheduleLocked(c.after, false)
	}
	w.mu.Unlock()
	return &w.Future
}

// settledNow records a job that Create already reported as final; its
// webhook, when it comes, is a duplicate.
func settledNow[T any](c *Client, k *kind[T], name, key string, v T) (*Future[T], bool) {
	ok, outcome, err := k.settled(v, name, hub.Note{})
	if !ok {
		return nil, false
	}
	f := newFuture[T](name)
	c.hub.Settle(key, nil, outcome)
	f.resolve(v, err)
	return f, true
}

// queue hands w to the workers. After Close it does nothing: Close
// settles the future with ErrClosed.
func (w *watch[T]) queue() { w.c.work.push(w) }

// Wake implements hub.Waiter.
func (w *watch[T]) Wake(n hub.Note) {
	if n.Token != "" && w.token != "" && subtle.ConstantTimeCompare([]byte(n.Token), []byte(w.token)) != 1 {
		w.c.log.LogAttrs(context.Background(), slog.LevelWarn, "event ignored: correlation token does not match the job",
			slog.String("job", w.name), slog.String("type", n.Type))
		return
	}
	w.mu.Lock()
	if n.Terminal && !w.hinted {
		w.hinted, w.step = true, 0
		if n.Code != "" || n.Message != "" {
			w.hint = &n
		}
	}
	switch w.phase {
	case idle:
		w.phase = queued
		w.mu.Unlock()
		w.c.sched.Cancel(&w.entry)
		w.queue()
		return
	case running:
		w.again = true
	}
	w.mu.Unlock()
}

// Fire implements reconcile.Task.
func (w *watch[T]) Fire(at time.Time) {
	w.mu.Lock()
	if w.phase != idle || at.UnixNano() != w.pollAt {
		w.mu.Unlock()
		return
	}
	w.phase = queued
	w.mu.Unlock()
	w.queue()
}

// check implements checker: one get, then settle or wait some more.
func (w *watch[T]) check(ctx context.Context) {
	w.mu.Lock()
	if w.phase != queued {
		w.mu.Unlock()
		return
	}
	w.phase, w.again = running, false
	var hint hub.Note
	if w.hint != nil {
		hint = *w.hint
	}
	w.mu.Unlock()

	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	v, err := w.kind.get(cctx, w.c, w.name)
	cancel()
	if ctx.Err() != nil {
		return // closing
	}
	if err == nil {
		if ok, outcome, jerr := w.kind.settled(v, w.name, hint); ok {
			w.finish(v, jerr, outcome)
			return
		}
		w.decidePace(ctx)
	} else if permanent(err) {
		w.finish(*new(T), wrapGet(w.kind.name, w.name, err), "")
		return
	} else {
		w.c.log.LogAttrs(ctx, slog.LevelWarn, "job lookup failed; will retry",
			slog.String("job", w.name), slog.String("err", err.Error()))
	}

	w.mu.Lock()
	switch {
	case w.phase != running:
	case w.again:
		w.phase = queued
		w.mu.Unlock()
		w.queue()
		return
	case err != nil || w.hinted:
		w.phase = idle
		w.scheduleLocked(w.c.retryBase, true)
	case w.c.polling:
		w.phase = idle
		w.schedulePollLocked()
	default:
		w.phase = idle
	}
	w.mu.Unlock()
}

// scheduleLocked schedules the next poll: base the first time, then
// doubling up to Fallback.Every, with jitter so that jobs submitted
// together don't poll together.
func (w *watch[T]) scheduleLocked(base time.Duration, backoff bool) {
	d := base
	if backoff {
		// Doubling stops at Every; shifting instead would overflow for a
		// long After (24h<<17 wraps negative, and rand.N panics).
		for i := uint8(0); i < w.step && d < w.c.every; i++ {
			d *= 2
		}
		d = min(d, w.c.every)
		w.step = min(w.step+1, 64)
		d = d - d/4 + rand.N(d/4+1)
	} else {
		w.step = min(w.step+1, 64)
		d += rand.N(d/10 + 1)
	}
	at := w.c.now().Add(d)
	w.pollAt = at.UnixNano()
	w.c.sched.Schedule(&w.entry, w, at)
}

// settle moves w to its final phase, and reports whether this call did.
func (w *watch[T]) settle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.phase == settled {
		return false
	}
	w.phase = settled
	return true
}

func (w *watch[T]) finish(v T, err error, outcome string) {
	if !w.settle() {
		return
	}
	// The hub learns first, so that whoever sees Wait return also sees the
	// job tombstoned and its poll cancelled.
	w.c.sched.Cancel(&w.entry)
	if outcome != "" {
		w.c.hub.Settle(w.key, w, outcome)
	} else {
		w.c.hub.Unregister(w.key, w)
	}
	w.c.untrack(w)
	w.resolve(v, err)
}

// closeWith implements closer.
func (w *watch[T]) closeWith(err error) {
	if !w.settle() {
		return
	}
	w.c.hub.Unregister(w.key, w)
	w.resolve(*new(T), err)
}

// permanent reports errors that retrying cannot fix: the job does not
// exist, the request is refused as malformed, or the key may not read it
// (Google's UNAUTHENTICATED and PERMISSION_DENIED: "do not retry without
// fixing the problem").
func permanent(err error) bool {
	switch statusOf(err) {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}

func statusOf(err error) int {
	var core genai.APIError
	if errors.As(err, &core) {
		return core.Code
	}
	var gen *apierrors.APIError
	if errors.As(err, &gen) {
		return gen.StatusCode
	}
	var get *apierrors.GetInteractionByIDClientError
	if errors.As(err, &get) && get.HTTPMeta.Response != nil {
		return get.HTTPMeta.Response.StatusCode
	}
	// A 4xx whose body is not the declared schema, such as Google's usual
	// {"error":{"code":404,...}} with a numeric code where genai's
	// interactions stack expects a string.
	var schema *apierrors.ResponseValidationError
	if errors.As(err, &schema) {
		return schema.StatusCode
	}
	return 0
}
