package gemhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genai"

	"github.com/gemhook/gemhook/internal/hub"
	"github.com/gemhook/gemhook/internal/reconcile"
)

// Defaults for Fallback's zero values, chosen for jobs that run minutes to
// hours: a job whose webhook was lost is noticed within minutes, and a
// 24-hour batch costs about a hundred polls instead of thousands.
const (
	DefaultFallbackAfter = 5 * time.Minute
	DefaultFallbackEvery = 15 * time.Minute
)

// confirmWorkers bounds the confirming gets and polls one Client runs at a
// time, however many jobs are pending.
const confirmWorkers = 16

// Config configures a Client.
type Config struct {
	// GenAI makes every call to Gemini. It must use the Gemini Developer
	// API backend: Vertex AI rejects webhook configurations.
	GenAI *genai.Client
	// Receiver verifies deliveries and hands them to this Client. Several
	// Clients may share one Receiver.
	Receiver *Receiver
	// WebhookURL, when set, asks Gemini to deliver each job's events to
	// this URL (per-request webhooks, verified with Gemini's published
	// keys, so the Receiver needs ReceiverConfig.JWKSURL). Empty: rely on the project's webhooks (client.Webhooks.Create),
	// verified with ReceiverConfig.Secrets.
	WebhookURL string
	// Secrets, when set, are this Client's project webhook secrets (its
	// tenant's, when one Receiver serves several projects): only events
	// that one of them verified speak for this Client's jobs. Events that
	// another project's secret, or Gemini's per-request keys, verified may
	// then at most wake a get, as events without a job's correlation token
	// do. The Receiver must hold them too (ReceiverConfig.Secrets or
	// AddSecret). Empty: any secret the Receiver holds is trusted.
	Secrets []string
	// Fallback tunes the reconciliation polls of jobs whose webhook has not
	// arrived.
	Fallback Fallback
	// Logger receives the client's diagnostics; default: discard.
	Logger *slog.Logger
	// Now is the clock behind fallback poll times; default time.Now.
	// Polls still wait on real timers, so a clock that stands still or is
	// moved by hand delays them instead of driving them.
	Now func() time.Time
	// TracerProvider and MeterProvider receive the Client's spans and
	// metrics (see the README's Observability section); nil: the global
	// providers (otel.GetTracerProvider, otel.GetMeterProvider).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Fallback is the safety net for lost webhooks: a job with no terminal
// event after After is polled, then polled again with jittered, doubling
// intervals up to Every, until it settles.
//
// A job attached with Await* that no webhook will report (no enabled
// project webhook subscribes to its events, as one ListWebhooks per Client
// tells) is instead polled every Unreported, as a polling loop would, and
// an Info log says so. Gemini does not say where an existing job's events
// go, so a job submitted with a per-request webhook before a restart is
// polled at that pace too; raise Unreported to poll such jobs rarely.
type Fallback struct {
	After      time.Duration // default DefaultFallbackAfter
	Every      time.Duration // default DefaultFallbackEvery (and at least After)
	Unreported time.Duration // default DefaultFallbackUnreported
	Disabled   bool          // never poll; only webhooks settle jobs
}

// Client submits jobs through genai and settles their futures from
// verified webhooks, with reconciliation polls as a safety net. Close it
// when done.
type Client struct {
	genai      *genai.Client
	recv       *Receiver
	hub        jobHub
	store      Store
	owner      string          // names this Client's poll leases in the Store
	signers    map[string]bool // signerOf Config.Secrets; empty: any
	webhookURL string
	after      time.Duration
	every      time.Duration
	unreported time.Duration
	retryBase  time.Duration
	polling    bool
	log        *slog.Logger
	tel        *telemetry
	now        func() time.Time
	sched      *reconcile.Scheduler
	work       workers
	hooks      hookState // project webhooks' secrets (EnsureWebhook, RotateWebhookSecret)
	unhook     func()    // stops the Receiver's Close from closing this Client
	subs       subscriptions

	batchMetadataRefused atomic.Bool // the Batch API refused gemhook's token in userMetadata (go-genai issue 779)

	mu      sync.Mutex
	closed  bool
	pending map[closer]struct{}
}

// jobHub is what a Client uses of its Receiver's hub.
type jobHub interface {
	Register(key string, w hub.Waiter)
	Unregister(key string, w hub.Waiter)
}

// closer is a pending job, settled with ErrClosed when its Client closes.
type closer interface{ closeWith(error) }

// Errors from New and NewReceiver.
var (
	// ErrInvalidConfig wraps every configuration New or NewReceiver
	// refuses.
	ErrInvalidConfig = errors.New("gemhook: invalid config")
)

// New checks cfg and returns a Client. It refuses a closed Receiver with
// ErrClosed.
func New(cfg Config) (*Client, error) {
	if cfg.GenAI == nil {
		return nil, fmt.Errorf("%w: Config.GenAI is nil: create one with genai.NewClient(ctx, &genai.ClientConfig{APIKey: ..., Backend: genai.BackendGeminiAPI})", ErrInvalidConfig)
	}
	if cfg.GenAI.ClientConfig().Backend == genai.BackendVertexAI {
		return nil, fmt.Errorf("%w: Config.GenAI uses the Vertex AI backend, which rejects webhook configs; create it with Backend: genai.BackendGeminiAPI and an API key (and check GOOGLE_GENAI_USE_VERTEXAI is unset)", ErrInvalidConfig)
	}
	if cfg.Receiver == nil {
		return nil, fmt.Errorf("%w: Config.Receiver is nil: create one with NewReceiver and mount it where Gemini can POST", ErrInvalidConfig)
	}
	if cfg.Receiver.closed.Load() {
		return nil, errReceiverClosed
	}
	if cfg.WebhookURL != "" {
		if err := checkWebhookURL(cfg.WebhookURL); err != nil {
			return nil, fmt.Errorf("%w: Config.WebhookURL: %v", ErrInvalidConfig, err)
		}
		if !cfg.Receiver.acceptsPerRequest() {
			return nil, fmt.Errorf("%w: Config.WebhookURL asks for per-request webhooks, which Config.Receiver refuses: "+
				"set ReceiverConfig.JWKSURL to gemhook.GeminiJWKSURL (or the emulator's JWKSURL in tests)", ErrInvalidConfig)
		}
	}
	fb := cfg.Fallback
	if fb.After < 0 || fb.Every < 0 || fb.Unreported < 0 {
		return nil, fmt.Errorf("%w: Fallback durations must not be negative", ErrInvalidConfig)
	}
	if fb.After == 0 {
		fb.After = DefaultFallbackAfter
	}
	if fb.Every == 0 {
		fb.Every = max(DefaultFallbackEvery, fb.After)
	}
	fb.Every = max(fb.Every, fb.After)
	if fb.Unreported == 0 {
		fb.Unreported = DefaultFallbackUnreported
	}
	signers := make(map[string]bool, len(cfg.Secrets))
	for i, sec := range cfg.Secrets {
		k, err := decodeSecret(sec)
		if err != nil {
			return nil, fmt.Errorf("%w: Config.Secrets[%d]: %w", ErrInvalidConfig, i, err)
		}
		signers[signerOf(k)] = true
	}
	c := &Client{
		signers:    signers,
		genai:      cfg.GenAI,
		recv:       cfg.Receiver,
		hub:        cfg.Receiver.hub,
		store:      cfg.Receiver.store,
		owner:      newToken(),
		webhookURL: cfg.WebhookURL,
		after:      fb.After,
		every:      fb.Every,
		unreported: fb.Unreported,
		retryBase:  min(time.Second, fb.After),
		polling:    !fb.Disabled,
		log:        cfg.Logger,
		now:        cfg.Now,
		pending:    make(map[closer]struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.tel = newTelemetry(cfg.TracerProvider, cfg.MeterProvider)
	c.sched = reconcile.New(c.now)
	c.hooks = hookState{sched: c.sched, now: c.now, log: c.log, recv: c.recv, known: make(map[string][]knownSecret)}
	c.work.init(confirmWorkers)
	unhook, ok := cfg.Receiver.closing.add(func() { c.Close() })
	if !ok {
		c.Close()
		return nil, errReceiverClosed
	}
	c.unhook = unhook
	return c, nil
}

// errReceiverClosed: a Client on a closed Receiver would create jobs whose
// webhooks nothing here can hear.
var errReceiverClosed = fmt.Errorf("%w: Config.Receiver is closed: create a new one with NewReceiver", ErrClosed)

// Close stops the Client: fallback polls stop, calls in flight are
// cancelled, and every pending future settles with ErrClosed. Jobs keep
// running at Gemini; a new Client can attach to them with AwaitBatch and
// its siblings. Close does not close the Receiver or the genai client;
// closing the Receiver closes the Client.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()

	if c.unhook != nil {
		c.unhook()
	}
	c.sched.Close()
	c.work.close()
	for p := range pending {
		p.closeWith(ErrClosed)
	}
	return nil
}

// Pending lists the jobs that this service submitted or attached to and
// that have not settled, oldest first: with a shared Store
// (ReceiverConfig.Store) those of every replica, without one those of this
// process. A replica that restarts attaches to them again with the Await*
// method that each one's Kind names; their correlation tokens are kept in
// the Store, so their events are still checked against them.
func (c *Client) Pending(ctx context.Context) ([]PendingJob, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	return c.store.Pending(ctx)
}

// track records p as pending; it reports false once the Client is closed.
func (c *Client) track(p closer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.pending[p] = struct{}{}
	return true
}

func (c *Client) untrack(p closer) {
	c.mu.Lock()
	delete(c.pending, p)
	c.mu.Unlock()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q carries credentials; Gemini would echo them", s)
	}
	return nil
}
