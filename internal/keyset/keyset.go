// Package keyset holds Gemini's published signing keys and checks
// per-request webhook signatures with them: v1a (Ed25519 over
// id.timestamp.body) and compact JWS tokens whose claims carry the event.
//
// Nothing is fetched until a signature needs a key, so receivers of
// project-level webhooks never touch the network. After the first fetch one
// goroutine refreshes the set in the background; a verification never waits
// for a refresh while the set it holds is fresh enough. An unknown key id or
// an unmatched v1a signature refetches the set at most once per cooldown,
// and a signature that could not be checked against an up-to-date set is
// ErrUnavailable, never ErrNoMatch, so that an outage is not taken for a
// forgery.
//
// It is internal because the Receiver owns the policy around it: which
// schemes a delivery may use. Its two verification sentinels are the
// Receiver's own: gemhook re-exports them as ErrKeysUnavailable and
// ErrNoMatchingSignature.
package keyset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Timing. Durations marked "clock" are measured with Config.Now; the
// others bound real waits.
const (
	minRefresh     = 5 * time.Minute  // clock: Cache-Control max-age is clamped to [min, max]
	maxRefresh     = time.Hour        // clock
	defaultRefresh = 15 * time.Minute // clock: when the response has no max-age
	missCooldown   = 30 * time.Second // clock: refetches for an unknown kid or a v1a miss
	failRetry      = 2 * time.Second  // clock: retries while no usable set is held
	maxStale       = 24 * time.Hour   // clock: after this without a good fetch, fail closed
	fetchTimeout   = 10 * time.Second // real: one fetch, however it is made
	maxWait        = 5 * time.Second  // real: how long a verification waits for a fetch
	tick           = time.Minute      // real: how often the refresher looks at the clock
)

// Errors of New, VerifyV1a and VerifyJWS. A verification's error wraps
// ErrNoMatch (the delivery is forged, or not for this receiver) or
// ErrUnavailable (it could not be checked; the sender should retry), and
// text that says why. Those two read as gemhook's, which they are.
var (
	ErrUnavailable = errors.New("gemhook: webhook signing keys unavailable")
	ErrNoMatch     = errors.New("gemhook: no matching webhook signature")
	ErrClosed      = errors.New("key set closed") // wrapped with ErrUnavailable; see Config.Closed
	ErrURL         = errors.New("not an absolute http(s) URL")
	ErrRedirect    = errors.New("JWKS endpoint answered with a redirect, which is not followed")
)

// Config configures a Set. Only URL is required.
type Config struct {
	URL      string           // where the JWKS is published: an absolute http(s) URL
	Client   *http.Client     // nil: the Set's own, with a timeout and no redirects
	Now      func() time.Time // nil: time.Now; refresh times, cooldowns, staleness and token lifetimes follow it
	Logger   *slog.Logger     // nil: discard
	Audience string           // the "aud" a token must carry; empty: not checked
	Issuer   string           // the "iss" a token must carry when it has one; empty: Gemini's

	// OnFetch, if set, is called after every fetch with its error (nil
	// on success), for metrics.
	OnFetch func(ctx context.Context, err error)
	// Closed is what a verification that needs a fetch after Close
	// fails with, wrapped with ErrUnavailable; nil: ErrClosed. The
	// Receiver passes its own, so that callers can tell it was closed.
	Closed error
}

// Set is a key set that fetches and refreshes itself. It is safe for
// concurrent use.
type Set struct {
	url      string
	client   *http.Client
	ownsHTTP bool // client is ours: Close drops its idle connections
	now      func() time.Time
	log      *slog.Logger
	audience string
	issuer   string
	onFetch  func(context.Context, error)
	closedBy error // Config.Closed

	state atomic.Pointer[keyState]
	sf    singleflight.Group

	mu          sync.Mutex
	lastAttempt time.Time // clock time the last fetch started
	lastErr     error     // outcome of the last finished fetch
	inflight    bool
	flight      string // singleflight key of the fetch in flight
	flights     uint64
	started     bool
	closed      bool

	base   context.Context // parent of every fetch; cancelled by Close
	cancel context.CancelFunc
	kick   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup // the refresher and any fetch in flight
}

// New checks cfg and returns a Set that has fetched nothing yet.
func New(cfg Config) (*Set, error) {
	if err := checkURL(cfg.URL); err != nil {
		return nil, err
	}
	k := &Set{
		url:      cfg.URL,
		client:   cfg.Client,
		now:      cfg.Now,
		log:      cfg.Logger,
		audience: cfg.Audience,
		issuer:   cfg.Issuer,
		onFetch:  cfg.OnFetch,
		closedBy: cfg.Closed,
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	if k.now == nil {
		k.now = time.Now
	}
	if k.log == nil {
		k.log = slog.New(slog.DiscardHandler)
	}
	if k.closedBy == nil {
		k.closedBy = ErrClosed
	}
	if k.issuer == "" {
		k.issuer = defaultIssuer
	}
	if k.client == nil {
		k.client, k.ownsHTTP = defaultClient(), true
	}
	k.base, k.cancel = context.WithCancel(context.Background())
	return k, nil
}

// current returns a key set that is no older than the maximum staleness,
// fetching one if needed. Its error wraps ErrUnavailable.
func (k *Set) current(ctx context.Context) (*keyState, error) {
	now := k.now()
	if s := k.state.Load(); s.usable(now) {
		if s.due(now) {
			k.poke()
		}
		return s, nil
	}
	s, err := k.refresh(ctx, failRetry)
	if s.usable(now) {
		return s, nil
	}
	// Another verification's fetch may have landed meanwhile.
	if s := k.state.Load(); s.usable(now) {
		return s, nil
	}
	if err == nil {
		err = errors.New("key set is older than the maximum staleness")
	}
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// refresh fetches the key set unless one was started less than gap ago (by
// the clock); a fetch already in flight is joined whatever the gap. It
// returns the set now held, or nil and the reason nothing new was fetched.
// The fetch itself does not depend on ctx, which only bounds the wait.
func (k *Set) refresh(ctx context.Context, gap time.Duration) (*keyState, error) {
	// A caller that has already given up starts no fetch: it could not
	// use the result, and a select between a done context and a fetch that
	// finished at once would answer at random.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch, err := k.start(gap)
	if err != nil {
		return nil, err
	}
	wait := time.NewTimer(maxWait)
	defer wait.Stop()
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*keyState), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait.C:
		return nil, errors.New("key set fetch still in progress")
	}
}

// start begins a fetch, or joins the one in flight. The decision and the
// singleflight call are made under mu, so a caller that sees a fetch in
// flight always joins that same fetch, and the cooldown cannot be passed by
// two callers at once.
func (k *Set) start(gap time.Duration) (<-chan singleflight.Result, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, k.closedBy
	}
	k.startRefresher()
	if !k.inflight {
		// A clock that went back to before the last attempt does not
		// hold fetches off until it has caught up: that attempt counts as
		// long ago, and the one started now restarts the gap.
		now := k.now()
		if since := now.Sub(k.lastAttempt); !k.lastAttempt.IsZero() && since >= 0 && since < gap {
			if k.lastErr != nil {
				return nil, fmt.Errorf("last fetch failed, next try within %v: %w", gap, k.lastErr)
			}
			return nil, errCooldown
		}
		// A fresh key per fetch: a late joiner can never attach to a
		// finished flight, and every started fetch runs fetchShared once.
		k.lastAttempt = now
		k.inflight = true
		k.flights++
		k.flight = strconv.FormatUint(k.flights, 10)
		k.wg.Add(1)
	}
	return k.sf.DoChan(k.flight, k.fetchShared), nil
}

var errCooldown = errors.New("key set was fetched recently")

// refetch is called when a signature matched no key of the set a
// verification holds: the keys may have rotated. It refetches the set (at
// most once per missCooldown) and returns the newest set held, which may
// be one another verification fetched a moment ago, or nil if that is
// still the one held. Its error, which wraps ErrUnavailable, says that the
// set could not be brought up to date (the last fetch failed, or this one
// did), so a signature that matches no key of it may still be genuine: the
// caller reports it if nothing verifies, so that an outage is not taken
// for a forgery.
func (k *Set) refetch(ctx context.Context, held *keyState) (*keyState, error) {
	s, err := k.refresh(ctx, missCooldown)
	if s == nil {
		s = k.state.Load()
	}
	if s == held {
		s = nil
	}
	if err != nil && !errors.Is(err, errCooldown) {
		return s, fmt.Errorf("%w: refetch after a miss: %w", ErrUnavailable, err)
	}
	return s, nil
}

// fetchShared is the single flight: one fetch, its bookkeeping, and the
// swap of the held set on success. A failed fetch keeps the old set.
func (k *Set) fetchShared() (any, error) {
	defer k.wg.Done()
	ctx, cancel := context.WithTimeout(k.base, fetchTimeout)
	s, err := k.fetch(ctx)
	cancel()
	if k.onFetch != nil {
		k.onFetch(ctx, err)
	}
	if err == nil {
		k.state.Store(s)
		k.log.LogAttrs(ctx, slog.LevelDebug, "gemhook: JWKS fetched", slog.String("url", k.url),
			slog.Int("ed25519", len(s.ed)), slog.Int("kids", len(s.byKID)))
	} else {
		k.log.LogAttrs(ctx, slog.LevelWarn, "gemhook: JWKS fetch failed", slog.String("url", k.url), slog.String("err", err.Error()))
	}
	k.mu.Lock()
	k.inflight = false
	k.lastErr = err
	k.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// startRefresher starts the background goroutine on first use; mu held.
func (k *Set) startRefresher() {
	if k.started {
		return
	}
	k.started = true
	k.wg.Add(1)
	go k.refresher()
}

// poke asks the refresher to look at the set now.
func (k *Set) poke() {
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// refresher refreshes the set when it is due. It wakes on a real ticker or
// when a verification notices the set is due, and judges "due" by the
// clock. A failed refresh is retried after failRetry while no usable set
// is held and after missCooldown otherwise, so a dead endpoint is not
// hammered.
func (k *Set) refresher() {
	defer k.wg.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
		case <-k.kick:
		}
		now := k.now()
		s := k.state.Load()
		if s.usable(now) && !s.due(now) {
			continue
		}
		gap := failRetry
		if s.usable(now) {
			gap = missCooldown
		}
		ch, err := k.start(gap)
		if err != nil {
			continue
		}
		select {
		case <-ch:
		case <-k.stop:
			return
		}
	}
}

// Close stops the refresher and any fetch in flight, and waits for them.
// Verifications after Close use the set held while it is fresh enough,
// and then fail with Config.Closed. Close is idempotent.
func (k *Set) Close() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed = true
	k.mu.Unlock()
	close(k.stop)
	k.cancel()
	k.wg.Wait()
	if k.ownsHTTP {
		k.client.CloseIdleConnections()
	}
}
