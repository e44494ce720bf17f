package pgstore

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/jackc/pgx/v5"
)

// listenVia returns the test DSN with its host replaced by addr.
func listenVia(t *testing.T, addr string) string {
	t.Helper()
	u, err := url.Parse(dsn())
	if err != nil || u.Host == "" {
		if inCI() {
			t.Fatalf("GEMHOOK_POSTGRES_URL %q is not a URL; this test needs one", dsn())
		}
		t.Skipf("GEMHOOK_POSTGRES_URL is not a URL; this test needs one")
	}
	u.Host = addr
	return u.String()
}

func target(t *testing.T) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn())
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// A hint sent while the listening connection is down is lost; after it
// reconnects the subscriber resyncs and reads the event from its row.
func TestReconnectResyncs(t *testing.T) {
	schema := schemaFor(t)
	p := newProxy(t, target(t))
	a := open(t, schema, Config{})
	b := open(t, schema, Config{ListenDSN: listenVia(t, p.addr())})
	ctx := context.Background()

	hints := make(chan string, 16)
	found := make(chan gemhook.JobRecord, 16)
	stop := b.Subscribe(func(k string) { hints <- k }, func(bool) {
		rec, err := b.Lookup(ctx, "batches/r")
		if err != nil {
			t.Error(err)
		}
		found <- rec
	})
	defer stop()
	if rec := <-found; len(rec.Events) != 0 {
		t.Fatalf("first resync found %+v before any delivery", rec)
	}

	p.setDown(true)
	waitFor(t, func() bool { return b.pid.Load() == 0 })
	if _, err := a.Deliver(ctx, "batches/r", "msg_r", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true}); err != nil {
		t.Fatal(err)
	}
	p.setDown(false)

	rec := <-found
	if len(rec.Events) != 1 || rec.Events[0].Type != "batch.succeeded" {
		t.Fatalf("resync after reconnect found %+v", rec)
	}
	select {
	case k := <-hints:
		t.Fatalf("hint %q arrived although nobody listened when it was sent", k)
	default:
	}
	// Hints flow again.
	if _, err := a.Deliver(ctx, "batches/s", "", gemhook.JobEvent{Type: "batch.failed", Terminal: true}); err != nil {
		t.Fatal(err)
	}
	if k := <-hints; k != "batches/s" {
		t.Fatalf("hint %q after reconnect", k)
	}
}

// A killed backend (the harness's DropHints) is noticed and replaced.
func TestTerminatedListenerReconnects(t *testing.T) {
	schema := schemaFor(t)
	s := open(t, schema, Config{})
	resyncs := make(chan struct{}, 4)
	stop := s.Subscribe(func(string) {}, func(bool) { resyncs <- struct{}{} })
	defer stop()
	<-resyncs
	old := s.pid.Load()
	terminate(t, s)
	<-resyncs
	if pid := s.pid.Load(); pid == 0 || pid == old {
		t.Fatalf("listening backend %d after killing %d", pid, old)
	}
}

// terminate kills s's listening backend and waits until it is gone, so that
// every hint sent afterwards, until s reconnects, is lost.
func terminate(t testing.TB, s *Store) {
	t.Helper()
	var pid uint32
	waitFor(t, func() bool { pid = s.pid.Load(); return pid != 0 })
	ctx := context.Background()
	var killed bool
	if err := s.pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int32(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d): %v %v", pid, killed, err)
	}
	waitFor(t, func() bool {
		var n int
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", int32(pid)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

// waitFor polls cond: what it waits on is another process's state, which
// sends no signal of its own.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(fmt.Errorf("condition not met within 10s"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
