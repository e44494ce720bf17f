package gemhook

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"google.golang.org/genai"
	"google.golang.org/genai/interactions/models/apierrors"

	"github.com/gemhook/gemhook/internal/reconcile"
)

// callTimeout bounds one confirming get or poll.
const callTimeout = time.Minute

// storeTimeout bounds one call to the Store.
const storeTimeout = 10 * time.Second

// leaseTTL is how long one replica's check of a job keeps the others from
// checking it. A get takes well under a second; one slower than this costs
// at most a second get by another replica, while a lease left by a
// replica that died holds its successor off for no longer than this.
const leaseTTL = 20 * time.Second

// untrustedEvery spaces the gets that events without the job's token may
// cause: such an event is not evidence, only a reason to ask the API.
const untrustedEvery = time.Minute

// maxValue is the largest job, as JSON, kept in an Outcome for waiters on
// other replicas; a larger one costs each of them a get.
const maxValue = 64 << 10

// kind describes one sort of job: how to fetch it and when it has settled.
type kind[T any] struct {
	name string
	kind JobKind
	get  func(ctx context.Context, c *Client, name string) (T, error)
	// settled reports whether v is final. A final v that is a failure comes
	// with a *JobError; hint carries a trusted event's code and message for
	// APIs that don't report them. outcome names the final state.
	settled func(v T, name string, hint JobEvent) (ok bool, outcome string, err error)
}

type phase uint8

const (
	idle    phase = iota // waiting for a hint or a poll
	queued               // a check is queued
	running              // a check is in flight
	settled              // the future is resolved
)

// watch tracks one pending job. It is the hub's Waiter, the scheduler's
// Task and the workers' checker, so a pending job is one allocation.
//
// A check reads the job's record from the Store (registering it the first
// time), settles from an outcome another replica recorded, and gets the
// job from the API, under the Store's lease, only when there is reason to:
// a trusted terminal event, a due poll, or an attach.
type watch[T any] struct {
	Future[T]
	c     *Client
	kind  *kind[T]
	key   string // routing key
	entry reconcile.Entry

	// What the Store keeps of the job (see pending), field by field: a
	// PendingJob here would repeat the name and kind.
	token     string         // correlation token sent in its metadata, if any
	trace     string         // W3C traceparent of its submission, if traced
	meta      map[string]any // user metadata, without the token
	submitted int64          // Unix ns
	obs       watchObs

	mu          sync.Mutex
	phase       phase
	again       bool      // woken while a check ran
	registered  bool      // the Store has the job
	mustGet     bool      // the next check gets the job from the API
	fireGets    bool      // the scheduled firing is a poll (not a retry of the Store)
	hinted      bool      // a trusted terminal event arrived; a lagging API gets a quick recheck
	seen        int       // events of the record already looked at
	step        uint8     // backoff step of polls or retries
	pollAt      int64     // due time (Unix ns) of the scheduled firing, 0 if none
	hint        *JobEvent // the first trusted terminal event, for its code and message
	untrustedAt int64     // when (Unix ns) an event without the token last caused a get
	attached    bool      // Await*: decidePace on the first get that finds it running
	unreported  bool      // no webhook will report it: poll at Fallback.Unreported
}

// start registers a job that exists at Gemini and returns its future. A
// job just created (Submit*) is registered with the Store at once, under
// ctx's values but not its cancellation, and waits for its webhook, with a
// fallback poll. A job attached to (Await*) is left to a worker, which
// registers it and fetches it at once, so that a job that has already
// ended settles without a webhook.
func start[T any](ctx context.Context, c *Client, k *kind[T], name, key, token string, meta map[string]any, attach bool) *Future[T] {
	w := &watch[T]{c: c, kind: k, key: key, attached: attach}
	w.token, w.trace, w.meta, w.submitted = token, traceParent(ctx), userMetadata(meta), c.now().UnixNano()
	w.Future = Future[T]{name: name}
	if !c.track(w) {
		// The job exists at Gemini: keep its name, so that the caller can
		// still attach to it with Await* from another Client.
		w.resolve(*new(T), ErrClosed)
		return &w.Future
	}
	w.began(ctx, attach)
	// Subscribe, then read: hints for key wake w from now on, and the
	// registration reads what came before.
	c.hub.Register(key, w)
	w.mu.Lock()
	switch {
	case w.phase == settled:
		// Close settled w between track and Register: take w out of the
		// hub, which outlives the Client.
		w.mu.Unlock()
		c.hub.Unregister(key, w)
		return &w.Future
	case w.phase != idle:
		// A hint came first; its check registers.
		w.mustGet = w.mustGet || attach
		w.mu.Unlock()
		return &w.Future
	case attach:
		w.phase, w.mustGet = queued, true
		w.mu.Unlock()
		w.queue()
		return &w.Future
	}
	w.phase = running
	w.mu.Unlock()
	// The caller's ctx may end as soon as Submit returns; the job must
	// still be registered.
	if ask, ok := w.look(context.WithoutCancel(ctx), false, false); ok {
		if ask {
			w.askNow()
		} else {
			w.rest()
		}
	}
	return &w.Future
}

// pending is the job as the Store keeps it.
func (w *watch[T]) pending() PendingJob {
	return PendingJob{Name: w.name, Kind: w.kind.kind, Token: w.token, Trace: w.trace,
		Submitted: time.Unix(0, w.submitted), Metadata: w.meta}
}

// settledNow records a job that Create already reported as final; its
// webhook, when it comes, is a duplicate.
func settledNow[T any](ctx context.Context, c *Client, k *kind[T], name, key string, v T) (*Future[T], bool) {
	ok, outcome, err := k.settled(v, name, JobEvent{})
	if !ok {
		return nil, false
	}
	f := newFuture[T](name)
	settledAtOnce(ctx, c, k, f, v)
	c.record(ctx, key, name, c.storedOutcome(v, outcome, err))
	f.resolve(v, err)
	return f, true
}

// queue hands w to the workers. After Close it does nothing: Close
// settles the future with ErrClosed.
func (w *watch[T]) queue() { w.c.work.push(w) }

// Wake implements hub.Waiter: the Store has news of the job, or (ask) has
// lost what it knew of it.
func (w *watch[T]) Wake(ask bool) {
	w.mu.Lock()
	w.mustGet = w.mustGet || ask
	switch w.phase {
	case idle:
		w.phase = queued
		w.mu.Unlock()
		w.queue()
		return
	case running:
		w.again = true
	}
	w.mu.Unlock()
}

// Fire implements reconcile.Task. The scheduler has dropped the entry, so
// the poll is due now whatever w is doing: like a hint, it queues a check,
// or has the running one go again, so that the next poll gets scheduled.
func (w *watch[T]) Fire(at time.Time) {
	w.mu.Lock()
	if at.UnixNano() != w.pollAt {
		w.mu.Unlock()
		return // rescheduled since
	}
	w.pollAt = 0
	get := w.fireGets
	w.mu.Unlock()
	w.Wake(get)
}

// check implements checker: read the Store, then get the job if there is
// reason to, then settle or wait some more.
func (w *watch[T]) check(ctx context.Context) {
	w.mu.Lock()
	if w.phase != queued {
		w.mu.Unlock()
		return
	}
	w.phase, w.again = running, false
	registered, mustGet := w.registered, w.mustGet
	w.mustGet = false
	w.mu.Unlock()

	ask, ok := w.look(ctx, registered, mustGet)
	if !ok {
		return
	}
	if !ask {
		w.rest()
		return
	}
	// One replica at a time asks the API about a job; the others hear of
	// its outcome through the Store.
	sctx, cancel := w.c.storeCtx(ctx)
	held, err := w.c.store.Lease(sctx, w.key, w.c.owner, leaseTTL)
	cancel()
	if held {
		// Released even when the Client is closing: a lease left behind
		// would hold a successor off this job until it expires.
		defer func() {
			rctx, cancel := w.c.storeCtx(context.WithoutCancel(ctx))
			w.c.store.Release(rctx, w.key, w.c.owner)
			cancel()
		}()
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil || !held {
		if err != nil {
			w.storeFailed(ctx, err)
		}
		w.retry(true)
		return
	}
	w.get(ctx)
}

// look reads the job's record (registering the job the first time) and
// reports whether to ask the API; ok is false when w has settled, or its
// Client is closing, or the Store failed and a retry is scheduled.
func (w *watch[T]) look(ctx context.Context, registered, mustGet bool) (ask, ok bool) {
	sctx, cancel := w.c.storeCtx(ctx)
	var rec JobRecord
	var err error
	if registered {
		rec, err = w.c.store.Lookup(sctx, w.key)
	} else {
		rec, err = w.c.store.Register(sctx, w.key, w.pending())
	}
	cancel()
	if err == nil && registered && rec.Job == nil && rec.Outcome == nil && ctx.Err() == nil {
		// The Store forgot the job (a server restarted without
		// persistence, say), and with it any event it had taken: register
		// it again and ask the API once.
		sctx, cancel := w.c.storeCtx(ctx)
		rec, err = w.c.store.Register(sctx, w.key, w.pending())
		cancel()
		mustGet = true
	}
	if ctx.Err() != nil {
		return false, false // closing
	}
	if err != nil {
		w.storeFailed(ctx, err)
		w.retry(mustGet)
		return false, false
	}
	if o := rec.Outcome; o != nil {
		if v, ok := decodeValue[T](o.Value); ok {
			if done, _, jerr := w.kind.settled(v, w.name, JobEvent{Code: o.Code, Message: o.Message}); done {
				w.obs.how = SettledByStore
				w.finish(v, jerr)
				return false, false
			}
		}
		mustGet = true // settled elsewhere, but too large to share: ask the API
	}
	if w.read(ctx, rec, registered) {
		mustGet = true
	}
	return mustGet, true
}

func (w *watch[T]) storeFailed(ctx context.Context, err error) {
	w.c.tel.storeError(ctx)
	w.c.log.LogAttrs(ctx, slog.LevelWarn, "store unavailable; will retry",
		slog.String("job", w.name), attrErr(err))
}

// askNow queues a check that asks the API.
func (w *watch[T]) askNow() {
	w.mu.Lock()
	if w.phase != running {
		w.mu.Unlock()
		return
	}
	w.phase, w.mustGet = queued, true
	w.mu.Unlock()
	w.queue()
}

// read takes in the record's events and reports whether one of them is
// reason to ask the API. The first read also adopts the token of a job
// registered before (by the replica that submitted it, say).
func (w *watch[T]) read(ctx context.Context, rec JobRecord, registered bool) (ask bool) {
	var ignored []string
	w.mu.Lock()
	if !registered {
		w.registered = true
		if rec.Job != nil && w.token == "" && rec.Job.Token != "" {
			// Submitted by this service with a per-request webhook:
			// its events will come.
			w.token, w.attached = rec.Job.Token, false
		}
		if rec.Job != nil && w.trace == "" {
			w.trace = rec.Job.Trace
		}
	}
	token := w.token
	if w.seen > len(rec.Events) {
		w.seen = 0
	}
	for _, e := range rec.Events[w.seen:] {
		switch {
		case token != "" && e.Token != "" && subtle.ConstantTimeCompare([]byte(e.Token), []byte(token)) != 1:
			ignored = append(ignored, e.Type)
		case token != "" && e.Token == "",
			token == "" && len(w.c.signers) > 0 && !w.c.signers[e.Signer]:
			// No token, or not this tenant's secret: maybe Gemini's, maybe
			// a forgery signed with another tenant's secret. It may wake a
			// get, now and then, and never speaks for the outcome.
			if now := w.c.now().UnixNano(); now-w.untrustedAt >= int64(untrustedEvery) {
				w.untrustedAt, ask = now, true
			}
		default:
			if e.Terminal && !w.hinted {
				w.hinted, w.step = true, 0
				if e.Code != "" || e.Message != "" {
					e := e
					w.hint = &e
				}
			}
			ask = true
		}
	}
	w.seen = len(rec.Events)
	w.mu.Unlock()
	for _, typ := range ignored {
		w.c.log.LogAttrs(ctx, slog.LevelWarn, "event ignored: correlation token does not match the job",
			slog.String("job", w.name), slog.String("type", typ))
	}
	return ask
}

// lookupFailed is the Store outcome of a job the API refused to describe
// for good (it does not exist, or this key may not read it).
const lookupFailed = "GEMHOOK_LOOKUP_FAILED"

// get asks the API once and settles, or schedules the next look.
func (w *watch[T]) get(ctx context.Context) {
	var hint JobEvent
	w.mu.Lock()
	if w.hint != nil {
		hint = *w.hint
	}
	w.mu.Unlock()

	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	cctx, traced := w.getting(cctx)
	v, err := w.kind.get(cctx, w.c, w.name)
	traced(err)
	cancel()
	if ctx.Err() != nil {
		return // closing
	}
	if err == nil {
		if ok, outcome, jerr := w.kind.settled(v, w.name, hint); ok {
			w.c.record(ctx, w.key, w.name, w.c.storedOutcome(v, outcome, jerr))
			w.finish(v, jerr)
			return
		}
		w.decidePace(ctx)
	} else if permanent(err) {
		// Settled in the Store too, so that Pending stops listing it.
		// The outcome carries no job: a replica that reads it asks the
		// API and meets the same answer.
		w.c.record(ctx, w.key, w.name, Outcome{State: lookupFailed, Message: err.Error()})
		w.finish(*new(T), wrapGet(w.kind.name, w.name, err))
		return
	} else {
		w.c.log.LogAttrs(ctx, slog.LevelWarn, "job lookup failed; will retry",
			slog.String("job", w.name), attrErr(err))
	}

	w.endCheck(false, func() {
		switch {
		case err != nil || w.hinted:
			w.scheduleLocked(w.c.retryBase, w.c.every, true)
		case w.c.polling:
			w.schedulePollLocked()
		}
	})
}

// rest ends a check that had no reason to ask the API: the job waits for
// the next hint, or for its fallback poll.
func (w *watch[T]) rest() {
	w.endCheck(false, func() {
		if w.pollAt == 0 && w.c.polling {
			w.scheduleLocked(w.c.after, 0, true)
		}
	})
}

// retry schedules the next check soon, with backoff: the Store failed, or
// another replica holds the job's lease. The backoff never passes half a
// lease's life: the holder may be gone.
func (w *watch[T]) retry(get bool) {
	w.endCheck(get, func() { w.scheduleLocked(w.c.retryBase, leaseTTL/2, false) })
}

// endCheck ends a running check. A wake that came meanwhile queues the
// next check at once; otherwise w goes idle and next (called under w.mu)
// schedules what comes after. get makes the next check ask the API.
func (w *watch[T]) endCheck(get bool, next func()) {
	w.mu.Lock()
	w.mustGet = w.mustGet || get
	switch {
	case w.phase != running:
	case w.again:
		w.phase = queued
		w.mu.Unlock()
		w.queue()
		return
	default:
		w.phase = idle
		next()
	}
	w.mu.Unlock()
}

// scheduleLocked schedules the next firing: base the first time, then,
// with a limit, doubling up to it, with jitter so that jobs submitted
// together don't poll together. poll says whether the firing asks the API.
func (w *watch[T]) scheduleLocked(base, limit time.Duration, poll bool) {
	d := base
	if limit > 0 {
		// Doubling stops at the limit; shifting instead would overflow for
		// a long After (24h<<17 wraps negative, and rand.N panics).
		for i := uint8(0); i < w.step && d < limit; i++ {
			d *= 2
		}
		d = min(d, limit)
		w.step = min(w.step+1, 64)
		d = d - d/4 + rand.N(d/4+1)
	} else {
		w.step = min(w.step+1, 64)
		d += rand.N(d/10 + 1)
	}
	at := w.c.now().Add(d)
	w.pollAt, w.fireGets = at.UnixNano(), poll
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

// finish resolves w's future. The Store has learnt the outcome first, so
// that whoever sees Wait return also sees the job settled everywhere.
func (w *watch[T]) finish(v T, err error) {
	if !w.settle() {
		return
	}
	w.observe(v, err)
	w.c.sched.Cancel(&w.entry)
	w.c.hub.Unregister(w.key, w)
	w.c.untrack(w)
	w.resolve(v, err)
}

// closeWith implements closer. The Store keeps the job pending: it still
// runs at Gemini, and another Client may attach to it.
func (w *watch[T]) closeWith(err error) {
	if !w.settle() {
		return
	}
	w.closed()
	w.c.sched.Cancel(&w.entry)
	w.c.hub.Unregister(w.key, w)
	w.resolve(*new(T), err)
}

// storeCtx bounds one call to the Store. The Receiver's own MemoryStore
// never blocks, so its calls skip the timer, which would be most of what a
// registration costs.
func (c *Client) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.ownStore() {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, storeTimeout)
}

// record tells the Store how a job settled. A Store that fails here costs
// nothing that matters: the outcome came from the API, and the job's
// redeliveries are then acknowledged as events for a job nobody waits for.
func (c *Client) record(ctx context.Context, key, name string, o Outcome) {
	sctx, cancel := c.storeCtx(context.WithoutCancel(ctx))
	defer cancel()
	if _, err := c.store.Settle(sctx, key, o); err != nil {
		c.tel.storeError(ctx)
		c.log.LogAttrs(ctx, slog.LevelWarn, "store did not record the outcome",
			slog.String("job", name), attrErr(err))
	}
}

// ownStore reports whether the Store is the Receiver's own MemoryStore,
// which no other process reads.
func (c *Client) ownStore() bool { return c.store == Store(c.recv.memory) }

// storedOutcome is what the Store keeps of a final job: its state, the
// error text the JobError carries, and, for a store other replicas read,
// the job itself when it is small, so that their waiters need no get.
func (c *Client) storedOutcome(v any, state string, err error) Outcome {
	o := Outcome{State: state}
	var je *JobError
	if errors.As(err, &je) {
		o.Code, o.Message = je.Code, je.Message
	}
	if c.ownStore() {
		return o
	}
	if b, err := json.Marshal(v); err == nil && len(b) <= maxValue {
		o.Value = b
	}
	return o
}

// decodeValue reads back a job that storedOutcome kept.
func decodeValue[T any](b []byte) (T, bool) {
	var v T
	if len(b) == 0 || json.Unmarshal(b, &v) != nil {
		return *new(T), false
	}
	return v, true
}

// userMetadata is the metadata a job was submitted with, less gemhook's
// token, which the Store keeps apart.
func userMetadata(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != TokenKey {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
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

// apiError finds the genai.APIError in err's chain, which genai returns
// by value and some paths by pointer.
func apiError(err error) (genai.APIError, bool) {
	var e genai.APIError
	if errors.As(err, &e) {
		return e, true
	}
	var p *genai.APIError
	if errors.As(err, &p) && p != nil {
		return *p, true
	}
	return genai.APIError{}, false
}

func statusOf(err error) int {
	if e, ok := apiError(err); ok {
		return e.Code
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
