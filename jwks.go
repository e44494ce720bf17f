package gemhook

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

// Key set timing. Durations marked "clock" are measured with the
// Receiver's clock (ReceiverConfig.Now), so tests drive them without
// sleeping; the others bound real waits.
const (
	jwksMinRefresh   = 5 * time.Minute  // clock: Cache-Control max-age is clamped to [min, max]
	jwksMaxRefresh   = time.Hour        // clock
	jwksRefresh      = 15 * time.Minute // clock: when the response has no max-age
	jwksMissCooldown = 30 * time.Second // clock: refetches for an unknown kid or a v1a miss
	jwksFailRetry    = 2 * time.Second  // clock: retries while no usable set is held
	jwksMaxStale     = 24 * time.Hour   // clock: after this without a good fetch, fail closed
	jwksFetchTimeout = 10 * time.Second // real: one fetch, however it is made
	jwksMaxWait      = 5 * time.Second  // real: how long a delivery waits for a fetch
	jwksTick         = time.Minute      // real: how often the refresher looks at the clock
)

// keySet holds Gemini's published signing keys for per-request deliveries.
// Nothing is fetched until a v1a or JWS entry needs a key, so receivers of
// project-level webhooks never touch the network. After the first fetch one
// goroutine refreshes the set in the background; deliveries never wait for
// a refresh while they hold a set that is fresh enough.
type keySet struct {
	url      string
	client   *http.Client
	ownsHTTP bool // client is ours: close drops its idle connections
	now      func() time.Time
	log      *slog.Logger
	audience string
	issuer   string
	t        keyTiming
	tel      *telemetry // set by NewReceiver

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

	base   context.Context // parent of every fetch; cancelled by close
	cancel context.CancelFunc
	kick   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup // the refresher and any fetch in flight
}

// keyTiming holds the constants above so that tests can shorten the real
// waits of one key set.
type keyTiming struct {
	missCooldown, failRetry, maxStale time.Duration
	fetchTimeout, maxWait, tick       time.Duration
}

var defaultKeyTiming = keyTiming{
	missCooldown: jwksMissCooldown,
	failRetry:    jwksFailRetry,
	maxStale:     jwksMaxStale,
	fetchTimeout: jwksFetchTimeout,
	maxWait:      jwksMaxWait,
	tick:         jwksTick,
}

var errKeySetClosed = fmt.Errorf("%w: key set", ErrClosed)

func newKeySet(cfg ReceiverConfig, now func() time.Time, log *slog.Logger) (*keySet, error) {
	k := &keySet{
		url:      cfg.JWKSURL,
		client:   cfg.HTTPClient,
		now:      now,
		log:      log,
		audience: cfg.Audience,
		issuer:   cfg.Issuer,
		t:        defaultKeyTiming,
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	if err := checkJWKSURL(k.url); err != nil {
		return nil, err
	}
	if k.issuer == "" {
		k.issuer = defaultIssuer
	}
	if k.client == nil {
		k.client, k.ownsHTTP = defaultJWKSClient(), true
	}
	k.base, k.cancel = context.WithCancel(context.Background())
	return k, nil
}

// current returns a key set that is no older than the maximum staleness,
// fetching one if needed. Its error wraps ErrKeysUnavailable.
func (k *keySet) current(ctx context.Context) (*keyState, error) {
	now := k.now()
	if s := k.state.Load(); s.usable(now, k.t.maxStale) {
		if s.due(now) {
			k.poke()
		}
		return s, nil
	}
	s, err := k.refresh(ctx, k.t.failRetry)
	if s.usable(now, k.t.maxStale) {
		return s, nil
	}
	// Another delivery's fetch may have landed meanwhile.
	if s := k.state.Load(); s.usable(now, k.t.maxStale) {
		return s, nil
	}
	if err == nil {
		err = errors.New("key set is older than the maximum staleness")
	}
	return nil, fmt.Errorf("%w: %w", ErrKeysUnavailable, err)
}

// refresh fetches the key set unless one was started less than gap ago (by
// the clock); a fetch already in flight is joined whatever the gap. It
// returns the set now held, or nil and the reason nothing new was fetched.
// The fetch itself does not depend on ctx, which only bounds the wait.
func (k *keySet) refresh(ctx context.Context, gap time.Duration) (*keyState, error) {
	ch, err := k.start(gap)
	if err != nil {
		return nil, err
	}
	wait := time.NewTimer(k.t.maxWait)
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
func (k *keySet) start(gap time.Duration) (<-chan singleflight.Result, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, errKeySetClosed
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

// refetch is called when a signature matched no key of the set a delivery
// holds: the keys may have rotated. It refetches the set (at most once per
// missCooldown) and returns the newest set held, which may be one another
// delivery fetched a moment ago, or nil if that is still the one held.
// Its error, which wraps ErrKeysUnavailable, says that the set could not be
// brought up to date (the last fetch failed, or this one did), so a
// signature that matches no key of it may still be genuine: the caller
// reports it if nothing verifies, so that an outage is a 503, not a 401.
func (k *keySet) refetch(ctx context.Context, held *keyState) (*keyState, error) {
	s, err := k.refresh(ctx, k.t.missCooldown)
	if s == nil {
		s = k.state.Load()
	}
	if s == held {
		s = nil
	}
	if err != nil && !errors.Is(err, errCooldown) {
		return s, fmt.Errorf("%w: refetch after a miss: %w", ErrKeysUnavailable, err)
	}
	return s, nil
}

// fetchShared is the single flight: one fetch, its bookkeeping, and the
// swap of the held set on success. A failed fetch keeps the old set.
func (k *keySet) fetchShared() (any, error) {
	defer k.wg.Done()
	ctx, cancel := context.WithTimeout(k.base, k.t.fetchTimeout)
	s, err := k.fetch(ctx)
	cancel()
	k.tel.fetched(ctx, err)
	if err == nil {
		k.state.Store(s)
		k.log.LogAttrs(ctx, slog.LevelDebug, "gemhook: JWKS fetched", slog.String("url", k.url),
			slog.Int("ed25519", len(s.ed)), slog.Int("kids", len(s.byKID)))
	} else {
		k.log.LogAttrs(ctx, slogWarn, "gemhook: JWKS fetch failed", slog.String("url", k.url), attrErr(err))
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
func (k *keySet) startRefresher() {
	if k.started {
		return
	}
	k.started = true
	k.wg.Add(1)
	go k.refresher()
}

// poke asks the refresher to look at the set now.
func (k *keySet) poke() {
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

// refresher refreshes the set when it is due. It wakes on a real ticker or
// when a delivery notices the set is due, and judges "due" by the clock. A
// failed refresh is retried after failRetry while no usable set is held and
// after missCooldown otherwise, so a dead endpoint is not hammered.
func (k *keySet) refresher() {
	defer k.wg.Done()
	tick := time.NewTicker(k.t.tick)
	defer tick.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-tick.C:
		case <-k.kick:
		}
		now := k.now()
		s := k.state.Load()
		if s.usable(now, k.t.maxStale) && !s.due(now) {
			continue
		}
		gap := k.t.failRetry
		if s.usable(now, k.t.maxStale) {
			gap = k.t.missCooldown
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

func (k *keySet) close() {
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
