package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config sets up a Store. Every zero field takes its default.
type Config struct {
	// Schema holds the store's tables; default "gemhook". Lower-case
	// letters, digits and underscores, at most 63 bytes.
	Schema string
	// Channel is the NOTIFY channel of hints; default: the schema's name.
	// Same rules as Schema.
	Channel string

	DedupeTTL  time.Duration // how long a delivery id is remembered; default 25h
	OutcomeTTL time.Duration // how long an outcome is kept; default 25h
	EventTTL   time.Duration // how long an event of an unregistered job is kept; default 1h
	JobTTL     time.Duration // how long a registration stays pending; default 7 days

	// SweepEvery is how often the store deletes expired rows (one replica
	// at a time does); default 1 minute. Reads ignore expired rows anyway.
	SweepEvery time.Duration

	// ListenDSN is where the listening connection goes; empty: the pool's
	// own connection settings. Set it to the server's direct address when
	// the pool goes through PgBouncer in transaction mode.
	ListenDSN string

	// Logger reports the listening connection's losses; default
	// slog.Default().
	Logger *slog.Logger
}

// The defaults of Config.
const (
	DefaultSchema     = "gemhook"
	DefaultDedupeTTL  = gemhook.DefaultDedupeTTL
	DefaultOutcomeTTL = gemhook.DefaultOutcomeTTL
	DefaultEventTTL   = time.Hour // not the MemoryStore's 10 minutes
	DefaultJobTTL     = gemhook.DefaultJobTTL
	DefaultSweepEvery = time.Minute
)

var (
	// ErrInvalidConfig wraps every rejection of a Config.
	ErrInvalidConfig = errors.New("pgstore: invalid config")
	// ErrKeyTooLong: keys are resource names; a longer one is refused
	// rather than stored (and NOTIFY payloads stay far below 8000 bytes).
	ErrKeyTooLong = errors.New("pgstore: key too long")
	// ErrInvalidTTL: a lease needs a positive duration.
	ErrInvalidTTL = errors.New("pgstore: lease ttl must be positive")
)

// maxKey bounds keys (and so NOTIFY payloads and index entries).
const maxKey = 1024

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

func (c Config) withDefaults() (Config, error) {
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if c.Channel == "" {
		c.Channel = c.Schema
	}
	for _, s := range []string{c.Schema, c.Channel} {
		if !identRE.MatchString(s) {
			return c, fmt.Errorf("%w: name %q: want lower-case letters, digits and _, at most 63 bytes", ErrInvalidConfig, s)
		}
	}
	def := func(d *time.Duration, v time.Duration) error {
		if *d < 0 {
			return fmt.Errorf("%w: negative duration %v", ErrInvalidConfig, *d)
		}
		if *d == 0 {
			*d = v
		}
		return nil
	}
	for _, f := range []struct {
		d *time.Duration
		v time.Duration
	}{
		{&c.DedupeTTL, DefaultDedupeTTL}, {&c.OutcomeTTL, DefaultOutcomeTTL},
		{&c.EventTTL, DefaultEventTTL}, {&c.JobTTL, DefaultJobTTL}, {&c.SweepEvery, DefaultSweepEvery},
	} {
		if err := def(f.d, f.v); err != nil {
			return c, err
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Store is a gemhook.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool
	cfg     Config
	locks   lockIDs
	listen  *pgx.ConnConfig

	closed atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
	subs   subscribers
	pid    atomic.Uint32 // server pid of the listening connection; 0: none

	deliveries chan *delivery
	stopped    <-chan struct{} // closed by Close
}

var _ gemhook.Store = (*Store)(nil)

// Open connects to dsn (a URL or key=value string, as pgx takes it),
// creates the store's tables in schema "gemhook" if they are missing, and
// starts listening for hints. Close closes its pool.
func Open(ctx context.Context, dsn string) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parsing dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connecting: %w", err)
	}
	s, err := New(ctx, pool, Config{})
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// New makes a Store over the caller's pool with cfg, creating the tables
// if they are missing. Close stops the store but leaves the pool open.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	listen := pool.Config().ConnConfig.Copy()
	if cfg.ListenDSN != "" {
		if listen, err = pgx.ParseConfig(cfg.ListenDSN); err != nil {
			return nil, fmt.Errorf("%w: ListenDSN: %w", ErrInvalidConfig, err)
		}
	}
	if listen.RuntimeParams["application_name"] == "" {
		// So that an operator can tell it in pg_stat_activity.
		listen.RuntimeParams["application_name"] = "gemhook pgstore listener"
	}
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: connecting: %w", err)
	}
	s := &Store{pool: pool, cfg: cfg, locks: locksFor(cfg.Schema), listen: listen}
	if err := migrate(ctx, pool, cfg.Schema, s.locks); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	s.cancel, s.stopped = cancel, bg.Done()
	s.deliveries = make(chan *delivery, maxBatch)
	s.wg.Add(2 + deliverWorkers)
	go s.listenLoop(bg)
	go s.sweepLoop(bg)
	for range deliverWorkers {
		go s.deliverLoop(bg)
	}
	return s, nil
}

// Close stops the store's goroutines and subscriptions, and closes the
// pool if Open made it. Later calls of the store's methods fail with an
// error that matches gemhook.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	s.wg.Wait()
	s.subs.closeAll()
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// errClosed is what every method returns after Close.
var errClosed = fmt.Errorf("pgstore: %w", gemhook.ErrClosed)

func (s *Store) check(key string) error {
	if s.closed.Load() {
		return errClosed
	}
	if len(key) > maxKey {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrKeyTooLong, len(key), maxKey)
	}
	return nil
}

// name qualifies one of the store's tables or functions with its schema.
func (s *Store) name(n string) string {
	return pgx.Identifier{s.cfg.Schema, n}.Sanitize()
}

func micros(d time.Duration) int64 { return d.Microseconds() }
