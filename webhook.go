package gemhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gemhook/gemhook/internal/dedupe"
	"github.com/gemhook/gemhook/internal/hub"
	"github.com/gemhook/gemhook/internal/keyset"
	"github.com/gemhook/gemhook/internal/signature"
)

// Defaults for ReceiverConfig's zero values.
const (
	DefaultTolerance = 5 * time.Minute
	// DefaultMaxBodyBytes fits Gemini's events, which are thin (an id,
	// a state, pointers to results, user metadata) and well under it.
	DefaultMaxBodyBytes = 64 << 10
	// GeminiJWKSURL is where Gemini publishes the keys that sign
	// per-request webhook deliveries. Set it as ReceiverConfig.JWKSURL to
	// accept them.
	GeminiJWKSURL = "https://generativelanguage.googleapis.com/.well-known/jwks.json"
)

// ReceiverConfig configures a Receiver. Set Secrets for project-level
// webhooks and JWKSURL for per-request ones (Config.WebhookURL,
// WithWebhookURL). A per-request signature proves only that Gemini sent
// the delivery, not that the job is yours: any Gemini customer can point
// a job's webhook at your URL. So per-request deliveries are refused (401)
// unless JWKSURL is set.
type ReceiverConfig struct {
	Secrets      []string                      // whsec_ secrets of project-level webhooks; several during rotation
	JWKSURL      string                        // GeminiJWKSURL, or the emulator's in tests; empty: per-request deliveries refused
	Audience     string                        // expected "aud" of JWS deliveries; empty: not checked (Google documents none yet: set it once it does)
	Issuer       string                        // expected "iss" of JWS deliveries, checked when present; default: Gemini's
	Tolerance    time.Duration                 // webhook-timestamp window each way; default 5m
	MaxBodyBytes int64                         // default 64 KiB; allocated as bytes arrive, never as declared
	Now          func() time.Time              // default time.Now
	HTTPClient   *http.Client                  // for JWKS fetches; default: timeout, no redirects, capped body
	OnEvent      func(context.Context, *Event) // optional: every verified event, after dispatch
	Logger       *slog.Logger                  // default: discard
	// Store shares pending jobs, early events, outcomes and dedupe between
	// the replicas of a service (pgstore, redisstore). nil: a MemoryStore
	// of this Receiver's own, so all of that holds inside this process.
	Store Store
	// TracerProvider and MeterProvider receive the Receiver's spans and
	// metrics (see the README's Observability section); nil: the global
	// providers (otel.GetTracerProvider, otel.GetMeterProvider).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Receiver verifies webhook deliveries and routes them to the futures of
// the Clients that use it. It is an http.Handler; mount it wherever Gemini
// should POST. A Receiver may start goroutines (key set refreshes, the
// embedded server); Close stops them.
type Receiver struct {
	now       func() time.Time
	tolerance time.Duration
	maxBody   int64
	log       *slog.Logger
	onEvent   func(context.Context, *Event)

	secrets   atomic.Pointer[secretSet]
	secretsMu sync.Mutex // serialises AddSecret and RemoveSecret
	keys      *keyset.Set
	store     Store
	memory    *MemoryStore // the store, when it is this Receiver's own
	hub       *hub.Hub     // this process's waiters, woken by the store's hints
	unsub     func()
	seen      *dedupe.Set
	watch     watchers // read-only observers of deliveries (PingWebhook)
	tel       *telemetry
	rejects   rejectLog

	srvMu    sync.Mutex
	srv      *http.Server   // the embedded server, once Serve has been called
	timeouts serverTimeouts // for the embedded server; tests shorten them

	closeOnce sync.Once
	closed    atomic.Bool
	closing   closeHooks // close the Clients built on this Receiver
}

// secretSet is an immutable snapshot of the project secrets, with a pool of
// HMAC states for them. Rotation swaps the whole snapshot.
type secretSet struct {
	keys    [][]byte
	signers []string // signerOf each key
	pool    sync.Pool
}

func newSecretSet(keys [][]byte) *secretSet {
	s := &secretSet{keys: keys, signers: make([]string, len(keys))}
	for i, k := range keys {
		s.signers[i] = signerOf(k)
	}
	s.pool.New = func() any { return signature.NewV1Verifier(keys) }
	return s
}

// NewReceiver checks cfg and returns a Receiver. It refuses secrets that
// are empty, not base64, or shorter than 24 bytes (ErrInvalidSecret)
// rather than failing every delivery later, and negative durations or sizes
// and a JWKSURL that is not an absolute http(s) URL (ErrInvalidConfig).
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if cfg.Tolerance < 0 || cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("%w: ReceiverConfig.Tolerance and MaxBodyBytes must not be negative (zero means the default)", ErrInvalidConfig)
	}
	r := &Receiver{
		now:       cfg.Now,
		tolerance: cfg.Tolerance,
		maxBody:   cfg.MaxBodyBytes,
		log:       cfg.Logger,
		onEvent:   cfg.OnEvent,
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.tolerance == 0 {
		r.tolerance = DefaultTolerance
	}
	if r.maxBody == 0 {
		r.maxBody = DefaultMaxBodyBytes
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	keys := make([][]byte, 0, len(cfg.Secrets))
	for i, s := range cfg.Secrets {
		k, err := decodeSecret(s)
		if err != nil {
			return nil, fmt.Errorf("ReceiverConfig.Secrets[%d]: %w", i, err)
		}
		if indexKey(keys, k) < 0 {
			keys = append(keys, k)
		}
	}
	r.secrets.Store(newSecretSet(keys))
	r.tel = newTelemetry(cfg.TracerProvider, cfg.MeterProvider)
	r.seen = dedupe.New(dedupe.Config{Now: r.now})
	r.timeouts = defaultTimeouts
	if cfg.JWKSURL != "" {
		ks, err := newKeySet(cfg, r.now, r.log, r.tel)
		if err != nil {
			return nil, err
		}
		r.keys = ks
	}
	r.store = cfg.Store
	if r.store == nil {
		r.memory = NewMemoryStore(MemoryStoreConfig{Now: r.now})
		r.store = r.memory
	}
	r.hub = hub.New()
	r.unsub = r.store.Subscribe(r.hub.Wake, r.resynced)
	return r, nil
}

// Close stops the Receiver's background work (key set refreshes, its
// subscription to the Store's hints) and closes the embedded server at once, dropping its
// connections; Shutdown is the graceful alternative. Deliveries that reach
// ServeHTTP after Close are answered 503, so the sender retries them later.
// Close also closes every Client built on the Receiver: their pending
// futures end with ErrClosed (the jobs keep running at Gemini), and they
// submit nothing more. Close is idempotent.
func (r *Receiver) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.srvMu.Lock()
		if r.srv != nil {
			r.srv.Close()
		}
		r.srvMu.Unlock()
		if r.keys != nil {
			r.keys.Close()
		}
		r.unsub()
		r.closing.run()
	})
	return nil
}

// Verify authenticates one delivery and decodes its event. It is pure: it
// neither remembers the delivery nor dispatches it, so it suits callers who
// run their own HTTP stack (serverless functions, queues) and do their own
// deduplication on Event.DedupeKey() (not Event.ID, which a JWS delivery
// does not sign). h must hold the webhook-* headers (names in any case);
// body must be the exact bytes received.
//
// Checks run cheapest first, and the body is parsed only once the signature
// holds. Errors wrap the sentinels of this package (ErrMissingHeader,
// ErrInvalidHeader, ErrInvalidTimestamp, ErrTimestampTooOld,
// ErrTimestampTooNew, ErrNoMatchingSignature, ErrKeysUnavailable,
// ErrPayloadTooLarge, ErrMalformedEvent); test them with errors.Is. Under
// a recording span (ServeHTTP's, or the caller's), each call is a child
// span ("gemhook.verify") with the scheme that matched or the class of the
// failure; it never starts a trace of its own, so that it costs nothing
// untraced.
func (r *Receiver) Verify(ctx context.Context, h http.Header, body []byte) (*Event, error) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return r.verify(ctx, h, body)
	}
	ctx, span := r.tel.tracer.Start(ctx, "gemhook.verify")
	ev, err := r.verify(ctx, h, body)
	if span.IsRecording() {
		if err != nil {
			span.SetAttributes(attrErrorType.String(rejectClass(err)))
			span.SetStatus(codes.Error, rejectClass(err))
		} else {
			span.SetAttributes(attrScheme.String(ev.Scheme), attrEventType.String(ev.Type), attrJobName.String(ev.Resource))
		}
	}
	span.End()
	return ev, err
}

// verify is Verify without its span.
func (r *Receiver) verify(ctx context.Context, h http.Header, body []byte) (*Event, error) {
	if int64(len(body)) > r.maxBody {
		return nil, ErrPayloadTooLarge
	}
	id, ts, list, err := webhookHeaders(h)
	if err != nil {
		return nil, err
	}
	if err := signature.CheckID(id); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidHeader, err)
	}
	sec, err := signature.ParseTimestamp(ts)
	if err != nil {
		return nil, ErrInvalidTimestamp
	}
	if err := r.checkTime(sec); err != nil {
		return nil, err
	}
	var buf [4]signature.Entry
	entries, err := signature.AppendList(buf[:0], list)
	if errors.Is(err, signature.ErrEmptyList) {
		return nil, errNoSignature
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidHeader, err)
	}
	scheme, replay, signer, err := r.authenticate(ctx, entries, id, ts, body)
	if err != nil {
		return nil, err
	}
	ev, err := decodeEvent(body)
	if err != nil {
		return nil, err
	}
	ev.ID = id
	ev.Scheme = scheme.String()
	ev.replay, ev.signer = replay, signer
	return ev, nil
}

// checkTime compares durations, not whole seconds, as the reference
// libraries do: with the clock at t+0.5s, a delivery signed at t-tolerance
// is tolerance+0.5s old and refused, and a tolerance of 1.5s is not cut to
// one.
func (r *Receiver) checkTime(sec int64) error {
	now := r.now()
	// Whole seconds first: time.Unix wraps around for timestamps near the
	// int64 limit, so those far outside the window never reach it.
	ds, lim := now.Unix()-sec, int64(r.tolerance/time.Second)+1
	switch {
	case ds > lim:
		return ErrTimestampTooOld
	case ds < -lim:
		return ErrTimestampTooNew
	}
	switch d := now.Sub(time.Unix(sec, 0)); {
	case d > r.tolerance:
		return ErrTimestampTooOld
	case d < -r.tolerance:
		return ErrTimestampTooNew
	}
	return nil
}

// authenticate tries the cheap symmetric entries first, then the ones that
// need Gemini's key set. Unknown versions are skipped. A key set that cannot
// be had is reported as ErrKeysUnavailable only when nothing else matched.
func (r *Receiver) authenticate(ctx context.Context, entries []signature.Entry, id, ts string, body []byte) (scheme signature.Scheme, replay, signer string, err error) {
	var v1, v1a, jws bool
	for _, e := range entries {
		switch e.Scheme {
		case signature.SchemeV1:
			v1 = true
		case signature.SchemeV1a:
			v1a = true
		case signature.SchemeJWS:
			jws = true
		}
	}
	if v1 {
		set := r.secrets.Load()
		if len(set.keys) > 0 {
			v := set.pool.Get().(*signature.V1Verifier)
			k := v.Match(entries, id, ts, body)
			set.pool.Put(v)
			if k >= 0 {
				return signature.SchemeV1, "", set.signers[k], nil
			}
		}
	}
	// The key set's error says why (expired token, unknown key id...); it
	// is kept for the logs, and matches ErrNoMatchingSignature or
	// ErrKeysUnavailable.
	var unavailable, refused error
	note := func(err error) {
		switch {
		case errors.Is(err, ErrKeysUnavailable):
			unavailable = err
		case refused == nil:
			refused = err
		}
	}
	if (v1a || jws) && r.keys == nil {
		note(errPerRequestOff)
		v1a, jws = false, false
	}
	if v1a {
		err := r.keys.VerifyV1a(ctx, entries, id, ts, body)
		if err == nil {
			return signature.SchemeV1a, "", "", nil
		}
		note(err)
	}
	if jws {
		replay, err := r.keys.VerifyJWS(ctx, entries, body)
		if err == nil {
			return signature.SchemeJWS, replay, "", nil
		}
		note(err)
	}
	switch {
	case unavailable != nil:
		return 0, "", "", unavailable
	case refused != nil:
		return 0, "", "", refused
	}
	return 0, "", "", ErrNoMatchingSignature
}

// errPerRequestOff explains, in the log, why a per-request delivery was
// refused by a Receiver of project secrets only.
var errPerRequestOff = fmt.Errorf("%w: per-request signature, but ReceiverConfig.JWKSURL is empty", ErrNoMatchingSignature)

// acceptsPerRequest reports whether per-request deliveries can verify.
func (r *Receiver) acceptsPerRequest() bool { return r.keys != nil }

// errNoSignature is ErrMissingHeader for webhook-signature: unlike a
// missing id or timestamp, which is a malformed request (400), a request
// without a signature is unauthenticated (401).
var errNoSignature error = unsignedError{}

type unsignedError struct{}

func (unsignedError) Error() string        { return ErrMissingHeader.Error() + ": Webhook-Signature" }
func (unsignedError) Is(target error) bool { return target == ErrMissingHeader }

// webhookHeaders returns the three Standard Webhooks headers. Each must be
// present exactly once, under one spelling: a repeated id or timestamp is
// ambiguous, a repeated signature header would let a proxy splice lists,
// and a hand-built map holding "Webhook-Id" and "webhook-id" is both. One
// pass over the map finds every spelling, canonical or not.
func webhookHeaders(h http.Header) (id, ts, sig string, err error) {
	var vals [3][]string
	var n [3]int
	for k, v := range h {
		i := webhookHeader(k)
		if i < 0 || len(v) == 0 {
			continue // a spelling with no values is no header at all
		}
		n[i] += len(v)
		if vals[i] == nil {
			vals[i] = v
		}
	}
	for i, name := range webhookHeaderNames {
		switch {
		case n[i] == 0 && i == 2:
			return "", "", "", errNoSignature
		case n[i] == 0:
			return "", "", "", fmt.Errorf("%w: %s", ErrMissingHeader, name)
		case n[i] > 1:
			return "", "", "", fmt.Errorf("%w: %s repeated", ErrInvalidHeader, name)
		}
	}
	return vals[0][0], vals[1][0], vals[2][0], nil
}

var webhookHeaderNames = [3]string{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}

// webhookHeader returns the index in webhookHeaderNames of header name k,
// in any case, or -1.
func webhookHeader(k string) int {
	if len(k) < 10 || !strings.EqualFold(k[:8], "webhook-") {
		return -1
	}
	for i, name := range webhookHeaderNames {
		if len(k) == len(name) && strings.EqualFold(k[8:], name[8:]) {
			return i
		}
	}
	return -1
}

// closeHooks are what Receiver.Close runs besides stopping its own work:
// each Client on the Receiver registers one, so that it stops creating jobs
// that nothing here could hear about and settles its pending futures.
type closeHooks struct {
	mu     sync.Mutex
	closed bool
	fns    map[*closeHook]struct{}
}

type closeHook struct{ fn func() }

// add registers fn and returns the function that unregisters it. It
// reports false, registering nothing, once the hooks have run.
func (h *closeHooks) add(fn func()) (remove func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	if h.fns == nil {
		h.fns = make(map[*closeHook]struct{})
	}
	k := &closeHook{fn}
	h.fns[k] = struct{}{}
	return func() {
		h.mu.Lock()
		delete(h.fns, k)
		h.mu.Unlock()
	}, true
}

// run calls every registered function once, outside the lock: they may
// call their remove function.
func (h *closeHooks) run() {
	h.mu.Lock()
	h.closed = true
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	for k := range fns {
		k.fn()
	}
}
