package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The tests run against a real Redis: GEMHOOK_REDIS_URL, or the one the
// project's machines run on loopback.
const defaultURL = "redis://127.0.0.1:6379/0"

func serverURL() string {
	if u := os.Getenv("GEMHOOK_REDIS_URL"); u != "" {
		return u
	}
	return defaultURL
}

// testEnv is one test's namespace on the server: a random key prefix whose
// keys are deleted when the test ends, and an admin connection.
type testEnv struct {
	t      testing.TB
	opts   *redis.Options
	admin  *redis.Client
	prefix string
}

// opened maps each store a test opened to its tracked client.
var opened sync.Map // *Store → *tracked

// tracked is a store's own client, which records the id of every
// connection it opens, so that a test can kill exactly those on the server.
type tracked struct {
	env    *testEnv
	client *redis.Client
	trips  atomic.Int64 // round trips: commands and pipelines sent

	mu  sync.Mutex
	ids []string
}

// inCI reports a CI run (CI set to anything but "false" or "0", as CI
// services set it), where a test that cannot reach its server must fail:
// a skip would pass a run that tested nothing.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// newEnv connects to the server; it fails the test in CI (CI=true) when the
// server is unreachable, and skips it elsewhere.
func newEnv(t testing.TB) *testEnv {
	t.Helper()
	opts, err := redis.ParseURL(serverURL())
	if err != nil {
		t.Fatalf("GEMHOOK_REDIS_URL: %v", err)
	}
	admin := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := admin.Ping(ctx).Err(); err != nil {
		admin.Close()
		if inCI() {
			t.Fatalf("Redis at %s is unreachable: %v", serverURL(), err)
		}
		t.Skipf("Redis at %s is unreachable (%v): start one with "+
			"`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no`, "+
			"or point GEMHOOK_REDIS_URL at one", serverURL(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	e := &testEnv{t: t, opts: opts, admin: admin, prefix: "gemhooktest-" + hex.EncodeToString(b)}
	t.Cleanup(func() {
		// GEMHOOK_REDIS_KEEP=1 keeps a failed test's keys to look at.
		if t.Failed() && os.Getenv("GEMHOOK_REDIS_KEEP") != "" {
			t.Logf("keys kept under %s", e.prefix)
			return
		}
		e.deleteKeys()
		admin.Close()
	})
	return e
}

func (e *testEnv) deleteKeys() {
	ctx := context.Background()
	iter := e.admin.Scan(ctx, 0, "{"+e.prefix+":*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		e.t.Errorf("scanning the test's keys: %v", err)
		return
	}
	if len(keys) > 0 {
		if err := e.admin.Unlink(ctx, keys...).Err(); err != nil {
			e.t.Errorf("deleting the test's keys: %v", err)
		}
	}
}

// open returns a store on the test's namespace over a client of its own;
// both are closed when the test ends.
func (e *testEnv) open(t testing.TB, cfg Config) *Store {
	t.Helper()
	tr := &tracked{env: e}
	o := *e.opts
	o.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		tr.mu.Lock()
		tr.ids = append(tr.ids, strconv.FormatInt(id, 10))
		tr.mu.Unlock()
		return nil
	}
	tr.client = redis.NewClient(&o)
	tr.client.AddHook(tripCounter{&tr.trips})
	cfg.Prefix = e.prefix
	s, err := New(tr.client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	opened.Store(s, tr)
	t.Cleanup(func() {
		s.Close()
		tr.client.Close()
		opened.Delete(s)
	})
	return s
}

func trackedOf(t testing.TB, s *Store) *tracked {
	t.Helper()
	tr, ok := opened.Load(s)
	if !ok {
		t.Fatalf("store %p was not opened by testEnv.open", s)
	}
	return tr.(*tracked)
}

// dropHints kills s's pub/sub connections on the server, and only those.
func dropHints(t testing.TB, s *Store) { killConnections(t, s, true) }

// killConnections kills s's connections on the server, by id: its pub/sub
// ones if pubsub, else all. The client reconnects by itself.
func killConnections(t testing.TB, s *Store, pubsub bool) {
	t.Helper()
	tr := trackedOf(t, s)
	tr.mu.Lock()
	args := []any{"client", "list", "id"}
	for _, id := range tr.ids {
		args = append(args, id)
	}
	tr.mu.Unlock()
	ctx := context.Background()
	list, err := tr.env.admin.Do(ctx, args...).Text()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	killed := 0
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		fields := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["id"] == "" || pubsub && fields["sub"] == "0" && !strings.Contains(fields["flags"], "P") {
			continue
		}
		if err := tr.env.admin.Do(ctx, "client", "kill", "id", fields["id"]).Err(); err != nil {
			t.Fatalf("CLIENT KILL ID %s: %v", fields["id"], err)
		}
		killed++
	}
	if killed == 0 {
		t.Fatalf("the store has no connection to kill")
	}
}

// tripCounter counts round trips: each command and each pipeline, but not
// those that set up a new connection (HELLO, CLIENT ...), which go through
// the same hooks.
type tripCounter struct{ n *atomic.Int64 }

func setup(cmd redis.Cmder) bool {
	name := cmd.Name()
	return name == "hello" || name == "client"
}

func (c tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !setup(cmd) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && !setup(cmds[0]) {
			c.n.Add(1)
		}
		return next(ctx, cmds)
	}
}
