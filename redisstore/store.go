package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/redis/go-redis/v9"
)

// Config sets a Store's namespace and expiry times. The zero value is ready
// to use.
type Config struct {
	// Prefix starts every key and the hint channel, so that several services
	// can share one Redis. Default "gemhook". It may not contain '{' or '}'
	// (they delimit the hash tags).
	Prefix string
	// Channel is the pub/sub channel hints go through. Default Prefix+":hints".
	Channel string
	// DedupeTTL is how long a delivery id is remembered. Default 25h.
	DedupeTTL time.Duration
	// OutcomeTTL is how long an outcome is kept. Default 25h (the Store
	// contract asks for at least 24h).
	OutcomeTTL time.Duration
	// EventTTL is how long an event is kept for a job nobody registered.
	// Default 1h. Events of a registered job live as long as its
	// registration.
	EventTTL time.Duration
	// JobTTL is how long a registration stays pending if the job never
	// settles. Default 7 days.
	JobTTL time.Duration
}

// Errors a Store returns besides Redis's own.
var (
	ErrInvalidURL    = errors.New("redisstore: invalid URL")
	ErrInvalidConfig = errors.New("redisstore: invalid config")
	ErrInvalidTTL    = errors.New("redisstore: invalid TTL")
	// ErrClosed matches gemhook.ErrClosed too, as every closed Store's error does.
	ErrClosed = fmt.Errorf("redisstore: %w", gemhook.ErrClosed)
)

// maxEvents bounds the events kept per job (the first per token, signer and
// terminality).
const maxEvents = 8

// Store is a gemhook.Store on Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	own    bool // Close closes client
	cfg    Config

	mu     sync.Mutex
	closed bool
	subs   map[*subscription]struct{}
}

var _ gemhook.Store = (*Store)(nil)

// Open connects to the Redis named by url (redis://[user:pass@]host:port/db,
// rediss:// for TLS, or unix://; options as redis.ParseURL takes them),
// checks that it answers, and returns a Store with the default Config. Close
// closes the connection. For Redis Cluster or Sentinel, build the client
// yourself and use New.
func Open(ctx context.Context, url string) (*Store, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	if opts.ClientName == "" {
		opts.ClientName = "gemhook"
	}
	client := redis.NewClient(opts)
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redisstore: ping %s: %w", opts.Addr, err)
	}
	s, err := New(client, Config{})
	if err != nil {
		client.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// New returns a Store over the caller's client, which may be a
// *redis.Client, a *redis.ClusterClient or any other UniversalClient. Close
// does not close client.
func New(client redis.UniversalClient, cfg Config) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidConfig)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "gemhook"
	}
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("%w: prefix %q contains a brace", ErrInvalidConfig, cfg.Prefix)
	}
	if cfg.Channel == "" {
		cfg.Channel = cfg.Prefix + ":hints"
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"DedupeTTL", &cfg.DedupeTTL, gemhook.DefaultDedupeTTL},
		{"OutcomeTTL", &cfg.OutcomeTTL, gemhook.DefaultOutcomeTTL},
		{"EventTTL", &cfg.EventTTL, time.Hour}, // as pgstore's, not the MemoryStore's 10 minutes
		{"JobTTL", &cfg.JobTTL, gemhook.DefaultJobTTL},
	} {
		switch {
		case *d.v == 0:
			*d.v = d.def
		case *d.v < time.Millisecond:
			return nil, fmt.Errorf("%w: %s %v is under a millisecond", ErrInvalidConfig, d.name, *d.v)
		}
	}
	return &Store{client: client, cfg: cfg, subs: map[*subscription]struct{}{}}, nil
}

// Close ends every subscription and waits for their goroutines, then closes
// the client if Open made it. Later calls fail with ErrClosed. It is safe to
// call more than once.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	subs := make([]*subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.stop()
	}
	if s.own {
		return s.client.Close()
	}
	return nil
}

func (s *Store) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// jobKeys names the keys of one job. They share the hash tag {prefix:key},
// so that a script may touch them all on Redis Cluster.
type jobKeys struct {
	tag string
}

func (s *Store) keys(key string) jobKeys {
	return jobKeys{tag: "{" + s.cfg.Prefix + ":" + key + "}"}
}

func (k jobKeys) job() string         { return k.tag + ":job" }
func (k jobKeys) events() string      { return k.tag + ":events" }
func (k jobKeys) outcome() string     { return k.tag + ":outcome" }
func (k jobKeys) lease() string       { return k.tag + ":lease" }
func (k jobKeys) id(id string) string { return k.tag + ":id:" + id }
func (k jobKeys) record() []string    { return []string{k.job(), k.events(), k.outcome()} }

func ms(d time.Duration) int64 { return d.Milliseconds() }
