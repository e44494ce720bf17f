package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/internal/leaktest"
)

var terminal = gemhook.JobEvent{Type: "batch.succeeded", Terminal: true, Token: "tok"}

// expire moves every row of table under key into the past on the
// database's clock, as time passing would.
func expire(t *testing.T, s *Store, table, key string) {
	t.Helper()
	tag, err := s.pool.Exec(context.Background(),
		"UPDATE "+s.name(table)+" SET expires_at = now() - interval '1 second' WHERE key = $1", key)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("expiring %s %q: %v (%d rows)", table, key, err, tag.RowsAffected())
	}
}

func count(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+s.name(table)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Expired rows are ignored by every read before any sweep has run.
func TestExpiredRowsIgnoredWithoutSweep(t *testing.T) {
	s := open(t, schemaFor(t), Config{SweepEvery: time.Hour})
	ctx := context.Background()

	if _, err := s.Deliver(ctx, "batches/e", "id1", terminal); err != nil {
		t.Fatal(err)
	}
	expire(t, s, "dedupe", "batches/e")
	expire(t, s, "events", "batches/e")
	if rec, err := s.Lookup(ctx, "batches/e"); err != nil || len(rec.Events) != 0 {
		t.Fatalf("expired event still read: %+v %v", rec, err)
	}
	if dup, err := s.Deliver(ctx, "batches/e", "id1", terminal); err != nil || dup {
		t.Fatalf("expired delivery id still a duplicate: %v %v", dup, err)
	}
	if rec, _ := s.Lookup(ctx, "batches/e"); len(rec.Events) != 1 {
		t.Fatalf("redelivered event after expiry not kept: %+v", rec)
	}

	job := gemhook.PendingJob{Name: "batches/j", Kind: gemhook.KindBatch, Token: "old", Submitted: time.Now()}
	if _, err := s.Register(ctx, "batches/j", job); err != nil {
		t.Fatal(err)
	}
	expire(t, s, "jobs", "batches/j")
	if p, err := s.Pending(ctx); err != nil || len(p) != 0 {
		t.Fatalf("expired registration still pending: %+v %v", p, err)
	}
	job.Token = "new"
	if rec, err := s.Register(ctx, "batches/j", job); err != nil || rec.Job == nil || rec.Job.Token != "new" {
		t.Fatalf("registering over an expired registration: %+v %v", rec.Job, err)
	}

	if _, err := s.Settle(ctx, "batches/o", gemhook.Outcome{State: "JOB_STATE_FAILED"}); err != nil {
		t.Fatal(err)
	}
	expire(t, s, "outcomes", "batches/o")
	if o, err := s.Settle(ctx, "batches/o", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"}); err != nil || o.State != "JOB_STATE_SUCCEEDED" {
		t.Fatalf("expired outcome still won: %+v %v", o, err)
	}

	if ok, err := s.Lease(ctx, "batches/l", "a", time.Hour); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _ := s.Lease(ctx, "batches/l", "b", time.Hour); ok {
		t.Fatal("b took a's live lease")
	}
	expire(t, s, "leases", "batches/l")
	if ok, err := s.Lease(ctx, "batches/l", "b", time.Hour); err != nil || !ok {
		t.Fatalf("b could not take a's expired lease: %v %v", ok, err)
	}
}

// Only one replica sweeps at a time; the sweep deletes expired rows only.
func TestSweepOneReplicaAtATime(t *testing.T) {
	schema := schemaFor(t)
	a := open(t, schema, Config{SweepEvery: time.Hour})
	b := open(t, schema, Config{SweepEvery: time.Hour})
	ctx := context.Background()
	for i := range 3 {
		key := fmt.Sprintf("batches/%d", i)
		if _, err := a.Deliver(ctx, key, "id", terminal); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			expire(t, a, "dedupe", key)
			expire(t, a, "events", key)
		}
	}

	// Replica a is sweeping (holds the lock in an open transaction).
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", a.locks.sweep); err != nil {
		t.Fatal(err)
	}
	if n, err := b.sweep(ctx); err != nil || n != -1 {
		t.Fatalf("b swept (%d, %v) while a held the sweep", n, err)
	}
	tx.Rollback(ctx)
	if got := count(t, b, "events"); got != 3 {
		t.Fatalf("%d events before the sweep, want 3", got)
	}

	// Both at once: exactly one deletes the 4 expired rows.
	var wg sync.WaitGroup
	res := make([]int64, 2)
	for i, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.sweep(ctx)
			if err != nil {
				t.Error(err)
			}
			res[i] = n
		}()
	}
	wg.Wait()
	total := max(res[0], 0) + max(res[1], 0)
	if total != 4 {
		t.Fatalf("sweeps deleted %v rows, want 4 in all", res)
	}
	if count(t, a, "events") != 1 || count(t, a, "dedupe") != 1 {
		t.Fatal("the live rows were swept too")
	}
}

// Any number of replicas may create the tables at once, and again.
func TestSchemaCreationIdempotent(t *testing.T) {
	schema := schemaFor(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	stores := make([]*Store, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := New(ctx, newPool(t), Config{Schema: schema})
			if err != nil {
				t.Error(err)
				return
			}
			stores[i] = s
		}()
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			s.Close()
		}
	}
	if t.Failed() {
		return
	}
	s := open(t, schema, Config{})
	if _, err := s.Deliver(ctx, "batches/k", "", terminal); err != nil {
		t.Fatal(err)
	}
	again := open(t, schema, Config{})
	if rec, err := again.Lookup(ctx, "batches/k"); err != nil || len(rec.Events) != 1 {
		t.Fatalf("second creation lost rows: %+v %v", rec, err)
	}
}

func TestOpenErrors(t *testing.T) {
	server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"); err == nil {
		t.Error("Open on a closed port succeeded")
	}
	if _, err := Open(ctx, "postgres://%zz"); err == nil {
		t.Error("Open with a malformed DSN succeeded")
	}
	if _, err := New(ctx, newPool(t), Config{Schema: "Bad-Name"}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad schema name: %v", err)
	}
	if _, err := New(ctx, newPool(t), Config{EventTTL: -time.Second}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative TTL: %v", err)
	}
}

func TestBadArguments(t *testing.T) {
	s := open(t, schemaFor(t), Config{})
	ctx := context.Background()
	if _, err := s.Deliver(ctx, strings.Repeat("k", maxKey+1), "", terminal); !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("long key: %v", err)
	}
	if _, err := s.Lease(ctx, "batches/x", "a", 0); !errors.Is(err, ErrInvalidTTL) {
		t.Errorf("zero lease: %v", err)
	}
	if _, err := s.Register(ctx, "batches/x", gemhook.PendingJob{Name: "batches/x", Metadata: map[string]any{"f": func() {}}}); err == nil {
		t.Error("unencodable metadata accepted")
	}
}

// A job keeps the first event per token and terminality, at most 8, also
// when the deliveries race.
func TestEventCap(t *testing.T) {
	s := open(t, schemaFor(t), Config{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := gemhook.JobEvent{Type: "batch.succeeded", Terminal: i%2 == 0, Token: fmt.Sprint(i / 2)}
			if _, err := s.Deliver(ctx, "batches/cap", fmt.Sprint("id", i), ev); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rec, err := s.Lookup(ctx, "batches/cap")
	if err != nil || len(rec.Events) != maxEvents {
		t.Fatalf("%d events kept (%v), want %d", len(rec.Events), err, maxEvents)
	}
	if _, err := s.Deliver(ctx, "batches/one", "", gemhook.JobEvent{Type: "first", Terminal: true, Token: "t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(ctx, "batches/one", "", gemhook.JobEvent{Type: "second", Terminal: true, Token: "t"}); err != nil {
		t.Fatal(err)
	}
	if rec, _ := s.Lookup(ctx, "batches/one"); len(rec.Events) != 1 || rec.Events[0].Type != "first" {
		t.Fatalf("want the first event only: %+v", rec.Events)
	}
}

// Close stops every goroutine, fails later calls, and leaves a caller's
// pool open.
func TestClose(t *testing.T) {
	schema := schemaFor(t)
	ctx := context.Background()
	pool := newPool(t)
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	check := leaktest.Check(t)
	s, err := New(ctx, pool, Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	resynced := make(chan struct{}, 1)
	s.Subscribe(func(string) {}, func(bool) { resynced <- struct{}{} })
	<-resynced
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check()
	if _, err := s.Deliver(ctx, "batches/c", "", terminal); !errors.Is(err, gemhook.ErrClosed) {
		t.Errorf("Deliver after Close: %v", err)
	}
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("the caller's pool was closed: %v", err)
	}
}

// A store made by Open owns its pool: after Close the goroutine count is
// back where it was.
func TestOpenCloseNoLeak(t *testing.T) {
	server(t)
	check := leaktest.Check(t)
	s, err := Open(context.Background(), dsn())
	if err != nil {
		t.Fatal(err)
	}
	resynced := make(chan struct{}, 1)
	s.Subscribe(func(string) {}, func(bool) { resynced <- struct{}{} })
	<-resynced
	s.Close()
	check()
}

// A registration comes back exactly as it went in (to the nanosecond), the
// first one stays, and settling removes it from the pending ones.
func TestRegisterRoundTrip(t *testing.T) {
	schema := schemaFor(t)
	a, b := open(t, schema, Config{}), open(t, schema, Config{})
	ctx := context.Background()
	when := time.Date(2026, 12, 2, 13, 0, 0, 123456789, time.UTC)
	job := gemhook.PendingJob{Name: "batches/r", Kind: gemhook.KindVideos, Token: "t1", Submitted: when, Metadata: map[string]any{"tenant": "acme"}}
	if _, err := a.Deliver(ctx, "batches/r", "m1", terminal); err != nil {
		t.Fatal(err)
	}
	first, err := a.Register(ctx, "batches/r", job)
	if err != nil {
		t.Fatal(err)
	}
	later := job
	later.Token, later.Submitted = "t2", when.Add(time.Hour)
	second, err := b.Register(ctx, "batches/r", later)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []gemhook.JobRecord{first, second} {
		if rec.Job == nil || !rec.Job.Submitted.Equal(when) || rec.Job.Token != "t1" || rec.Job.Kind != gemhook.KindVideos ||
			rec.Job.Metadata["tenant"] != "acme" || len(rec.Events) != 1 || rec.Outcome != nil {
			t.Fatalf("record %+v %+v", rec.Job, rec)
		}
	}
	if p, err := b.Pending(ctx); err != nil || len(p) != 1 || !p[0].Submitted.Equal(when) {
		t.Fatalf("pending %+v %v", p, err)
	}
	if _, err := b.Settle(ctx, "batches/r", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED", Value: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if p, err := a.Pending(ctx); err != nil || len(p) != 0 {
		t.Fatalf("pending after settle %+v %v", p, err)
	}
	rec, err := a.Register(ctx, "batches/r", job)
	if err != nil || rec.Job != nil || rec.Outcome == nil || string(rec.Outcome.Value) != "{}" {
		t.Fatalf("registering a settled job: %+v %v", rec, err)
	}
}

// A replica that starts while the others write takes no table lock when
// the tables are current: here a table locked by another transaction does
// not delay it.
func TestStartDoesNotLockCurrentTables(t *testing.T) {
	schema := schemaFor(t)
	a := open(t, schema, Config{})
	ctx := context.Background()
	tx, err := a.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE "+a.name("events")+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := New(sctx, newPool(t), Config{Schema: schema})
	if err != nil {
		t.Fatalf("a replica starting while a table is locked: %v", err)
	}
	s.Close()
}
