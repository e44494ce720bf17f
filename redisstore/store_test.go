package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/redis/go-redis/v9"
)

func TestOpen(t *testing.T) {
	newEnv(t)
	t.Cleanup(leaktest.Check(t))
	ctx := context.Background()
	s, err := Open(ctx, serverURL())
	if err != nil {
		t.Fatal(err)
	}
	stop := s.Subscribe(func(string) {}, func(bool) {})
	defer stop()
	if _, err := s.Lookup(ctx, "batches/open"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Lookup(ctx, "batches/open"); !errors.Is(err, ErrClosed) || !errors.Is(err, gemhook.ErrClosed) {
		t.Fatalf("Lookup after Close: %v, want ErrClosed", err)
	}
	if err := s.client.Ping(ctx).Err(); err == nil {
		t.Fatal("Close left the client Open made open")
	}
}

func TestOpenBadURL(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"", "http://127.0.0.1:6379", "redis://127.0.0.1:6379/notanumber", "redis://127.0.0.1:6379/0?bogus=1"} {
		if s, err := Open(ctx, u); !errors.Is(err, ErrInvalidURL) {
			if s != nil {
				s.Close()
			}
			t.Errorf("Open(%q): %v, want ErrInvalidURL", u, err)
		}
	}
	// Port 1 on loopback: nothing listens there.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if s, err := Open(ctx, "redis://127.0.0.1:1/0"); err == nil || errors.Is(err, ErrInvalidURL) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open of a server that is not there: %v, want a connection error", err)
	}
}

func TestNewConfig(t *testing.T) {
	e := newEnv(t)
	client := e.admin
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"brace in prefix", Config{Prefix: "a}b"}},
		{"open brace in prefix", Config{Prefix: "{a"}},
		{"TTL under a millisecond", Config{DedupeTTL: time.Microsecond}},
		{"negative TTL", Config{JobTTL: -time.Second}},
	} {
		if _, err := New(client, tc.cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v, want ErrInvalidConfig", tc.name, err)
		}
	}
	if _, err := New(nil, Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil client: %v, want ErrInvalidConfig", err)
	}
	s, err := New(client, Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Prefix: "gemhook", Channel: "gemhook:hints", DedupeTTL: 25 * time.Hour,
		OutcomeTTL: 25 * time.Hour, EventTTL: time.Hour, JobTTL: 7 * 24 * time.Hour}
	if s.cfg != want {
		t.Errorf("defaults: %+v, want %+v", s.cfg, want)
	}
	s.Close()
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Errorf("Close of a store from New closed the caller's client: %v", err)
	}
	if _, err := s.Lease(context.Background(), "batches/x", "me", 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Lease after Close: %v, want ErrClosed", err)
	}
}

func TestLeaseTTL(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, Config{})
	if _, err := s.Lease(context.Background(), "batches/x", "me", 0); !errors.Is(err, ErrInvalidTTL) {
		t.Errorf("Lease with no TTL: %v, want ErrInvalidTTL", err)
	}
}

// hashTag is the part of a key that Redis Cluster hashes.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// Every key that a job's scripts touch hashes to one slot, also for keys
// with braces of their own.
func TestHashTags(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, Config{})
	ctx := context.Background()
	for _, key := range []string{"batches/plain", "batches/a}b", "operations/{x}", "interactions/}{"} {
		if _, err := s.Register(ctx, key, gemhook.PendingJob{Name: key, Kind: gemhook.KindBatch}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Deliver(ctx, key, "id-1", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true}); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Lease(ctx, key, "me", time.Minute); err != nil || !ok {
			t.Fatalf("Lease: %v %v", ok, err)
		}
		k := s.keys(key)
		names := append(k.record(), k.lease(), k.id("id-1"))
		n, err := e.admin.Exists(ctx, k.job(), k.events(), k.lease(), k.id("id-1")).Result()
		if err != nil || n != 4 {
			t.Fatalf("%s: %d of the job's keys exist (%v), want 4", key, n, err)
		}
		for _, name := range names {
			if hashTag(name) != hashTag(names[0]) || hashTag(name) == name {
				t.Errorf("%s: key %q hashes %q, want the tag %q", key, name, hashTag(name), hashTag(names[0]))
			}
		}
	}
}

// Each call is one round trip, and the pipelined ones recover from an
// emptied script cache.
func TestRoundTrips(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, Config{})
	tr := trackedOf(t, s)
	ctx := context.Background()
	ops := []struct {
		name string
		do   func(key string) error
	}{
		{"Register", func(key string) error {
			_, err := s.Register(ctx, key, gemhook.PendingJob{Name: key, Submitted: time.Now()})
			return err
		}},
		{"Deliver", func(key string) error {
			_, err := s.Deliver(ctx, key, "d-"+key, gemhook.JobEvent{Type: "batch.succeeded", Terminal: true})
			return err
		}},
		{"Lookup", func(key string) error { _, err := s.Lookup(ctx, key); return err }},
		{"Lease", func(key string) error { _, err := s.Lease(ctx, key, "me", time.Minute); return err }},
		{"Release", func(key string) error { return s.Release(ctx, key, "me") }},
		{"Settle", func(key string) error {
			_, err := s.Settle(ctx, key, gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"})
			return err
		}},
	}
	// The first job loads the scripts and opens the connection.
	for _, op := range ops {
		if err := op.do("batches/warm"); err != nil {
			t.Fatal(err)
		}
	}
	for _, op := range ops {
		before := tr.trips.Load()
		if err := op.do("batches/counted"); err != nil {
			t.Fatal(err)
		}
		if n := tr.trips.Load() - before; n != 1 {
			t.Errorf("%s: %d round trips, want 1", op.name, n)
		}
	}
}

func TestScriptCacheFlushed(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, Config{})
	tr := trackedOf(t, s)
	ctx := context.Background()
	key := "batches/flushed"
	if _, err := s.Deliver(ctx, key, "", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true, Token: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	before := tr.trips.Load()
	rec, err := s.Register(ctx, key, gemhook.PendingJob{Name: key, Token: "t", Submitted: time.Now()})
	if err != nil {
		t.Fatalf("Register after SCRIPT FLUSH: %v", err)
	}
	if n := tr.trips.Load() - before; n != 2 {
		t.Errorf("Register after SCRIPT FLUSH: %d round trips, want 2 (EVALSHA, then EVAL)", n)
	}
	if rec.Job == nil || rec.Job.Name != key || len(rec.Events) != 1 {
		t.Fatalf("Register after SCRIPT FLUSH: %+v", rec)
	}
	if jobs, err := s.Pending(ctx); err != nil || len(jobs) != 1 {
		t.Fatalf("Pending: %v %v, want the job", jobs, err)
	}
	if err := e.admin.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	o, err := s.Settle(ctx, key, gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"})
	if err != nil || o.State != "JOB_STATE_SUCCEEDED" {
		t.Fatalf("Settle after SCRIPT FLUSH: %+v %v", o, err)
	}
	if jobs, err := s.Pending(ctx); err != nil || len(jobs) != 0 {
		t.Fatalf("Pending after Settle: %v %v, want none", jobs, err)
	}
	if err := e.admin.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Lease(ctx, key, "me", time.Minute); err != nil || !ok {
		t.Fatalf("Lease after SCRIPT FLUSH: %v %v", ok, err)
	}
}

func TestEventsKept(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, Config{})
	ctx := context.Background()
	key := "batches/events"
	deliver := func(id string, ev gemhook.JobEvent) bool {
		t.Helper()
		dup, err := s.Deliver(ctx, key, id, ev)
		if err != nil {
			t.Fatal(err)
		}
		return dup
	}
	deliver("", gemhook.JobEvent{Type: "batch.running", Token: "t0"}) // progress of a job nobody registered: not kept
	if _, err := s.Register(ctx, key, gemhook.PendingJob{Name: key}); err != nil {
		t.Fatal(err)
	}
	deliver("a", gemhook.JobEvent{Type: "batch.running", Token: "t1"})
	if !deliver("a", gemhook.JobEvent{Type: "batch.succeeded", Token: "t1", Terminal: true}) {
		t.Error("a second delivery with id a was not a duplicate")
	}
	deliver("b", gemhook.JobEvent{Type: "batch.running", Token: "t1"}) // same token and terminality: not kept
	deliver("", gemhook.JobEvent{Type: "batch.succeeded", Token: "t1", Terminal: true})
	for i := range 10 {
		deliver("", gemhook.JobEvent{Type: "batch.failed", Token: fmt.Sprint("u", i), Terminal: true})
	}
	rec, err := s.Lookup(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Events) != maxEvents {
		t.Fatalf("%d events kept, want %d", len(rec.Events), maxEvents)
	}
	if rec.Events[0].Type != "batch.running" || rec.Events[1] != (gemhook.JobEvent{Type: "batch.succeeded", Token: "t1", Terminal: true}) || rec.Events[2].Token != "u0" {
		t.Errorf("events: %+v", rec.Events)
	}
	if _, err := s.Settle(ctx, key, gemhook.Outcome{State: "JOB_STATE_FAILED", Code: "3"}); err != nil {
		t.Fatal(err)
	}
	if deliver("c", gemhook.JobEvent{Type: "batch.failed", Token: "z", Terminal: true}) {
		t.Error("a new id after the outcome was a duplicate")
	}
	rec, err = s.Lookup(ctx, key)
	if err != nil || rec.Outcome == nil || rec.Outcome.Code != "3" || len(rec.Events) != 0 || rec.Job != nil {
		t.Fatalf("after Settle: %+v %v", rec, err)
	}
}

// cancelAfter cancels a context once a command it names has run.
type cancelAfter struct {
	name   string
	cancel func()
}

func (h cancelAfter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h cancelAfter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == h.name {
			h.cancel()
		}
		return err
	}
}

func (h cancelAfter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A Lease whose caller gave up while the server granted it is handed back:
// the caller will not poll, and the job must not wait for the lease to
// expire (a replica that closes mid-check).
func TestLeaseCancelled(t *testing.T) {
	e := newEnv(t)
	a, b := e.open(t, Config{}), e.open(t, Config{})
	bg := context.Background()
	if _, err := a.Lookup(bg, "batches/warm"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	trackedOf(t, a).client.AddHook(cancelAfter{name: "evalsha", cancel: cancel})
	held, err := a.Lease(ctx, "batches/c", "a", time.Minute)
	if held || !errors.Is(err, context.Canceled) {
		t.Fatalf("Lease cancelled in flight = %v, %v; want false, context.Canceled", held, err)
	}
	if ok, err := b.Lease(bg, "batches/c", "b", time.Minute); err != nil || !ok {
		t.Fatalf("the lease a cancelled Lease took is still held: %v %v", ok, err)
	}
}
