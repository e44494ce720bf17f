package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// dsn is the server the tests use: GEMHOOK_POSTGRES_URL, or the local one.
func dsn() string {
	if u := os.Getenv("GEMHOOK_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// inCI reports a CI run (CI set to anything but "false" or "0", as CI
// services set it), where a test that cannot reach its server must fail:
// a skip would pass a run that tested nothing.
func inCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// server skips (fails in CI) when the server cannot be reached.
func server(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn())
	if err == nil {
		conn.Close(ctx)
		return
	}
	if inCI() {
		t.Fatalf("PostgreSQL unreachable at %s: %v", dsn(), err)
	}
	t.Skipf("PostgreSQL unreachable at %s (%v): start it, or set GEMHOOK_POSTGRES_URL, then run: cd pgstore && go test -race ./...", dsn(), err)
}

// schemaFor returns a fresh schema name that is dropped when t ends.
func schemaFor(t testing.TB) string {
	t.Helper()
	server(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "gemhook_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn())
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema
}

// newPool returns a pool on the test server, closed when t ends.
func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// open returns a store on schema over a pool of its own, which its Close
// closes; both are closed when t ends at the latest.
func open(t testing.TB, schema string, cfg Config) *Store {
	t.Helper()
	cfg.Schema = schema
	s, err := New(context.Background(), newPool(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.ownPool = true // as Open's: Close ends every goroutine
	t.Cleanup(func() { s.Close() })
	return s
}

// listening subscribes to s, waits until its subscription stands, and
// returns the keys it hears (up to 4096 unread).
func listening(t testing.TB, s *Store) <-chan string {
	t.Helper()
	hints := make(chan string, 4096)
	resynced := make(chan struct{}, 1)
	stop := s.Subscribe(func(k string) {
		select {
		case hints <- k:
		default:
		}
	}, func(bool) {
		select {
		case resynced <- struct{}{}:
		default:
		}
	})
	t.Cleanup(stop)
	<-resynced
	return hints
}
