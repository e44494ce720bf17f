package redisstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// listener records what a subscription calls.
type listener struct {
	hints   chan string
	resyncs chan struct{}
	lost    atomic.Int32 // resyncs that said the server lost its keys
}

func subscribe(s *Store) (*listener, func()) {
	l := &listener{hints: make(chan string, 100), resyncs: make(chan struct{}, 100)}
	stop := s.Subscribe(
		func(key string) { l.hints <- key },
		func(lost bool) {
			if lost {
				l.lost.Add(1)
			}
			l.resyncs <- struct{}{}
		},
	)
	return l, stop
}

// wait bounds how long a test waits for a hint or resync; go-redis
// reconnects at once after a killed connection.
const wait = 10 * time.Second

func (l *listener) resynced(t *testing.T) {
	t.Helper()
	select {
	case <-l.resyncs:
	case <-time.After(wait):
		t.Fatal("no resync")
	}
}

func (l *listener) next(t *testing.T) string {
	t.Helper()
	select {
	case k := <-l.hints:
		return k
	case <-time.After(wait):
		t.Fatal("no hint")
		return ""
	}
}

func (l *listener) hinted(t *testing.T, key string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case k := <-l.hints:
			if k == key {
				return
			}
		case <-deadline:
			t.Fatalf("no hint for %s", key)
		}
	}
}

// Every (re)subscription calls resync: the first, and each one after the
// connection was killed on the server; hints flow again after it.
func TestResubscribeResyncs(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(leaktest.Check(t))
	a, b := e.open(t, Config{}), e.open(t, Config{})
	l, stop := subscribe(a)
	defer stop()
	l.resynced(t)
	ctx := context.Background()
	for i, key := range []string{"batches/r0", "batches/r1", "batches/r2"} {
		if i > 0 {
			dropHints(t, a)
			l.resynced(t)
		}
		if _, err := b.Deliver(ctx, key, "", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true}); err != nil {
			t.Fatal(err)
		}
		l.hinted(t, key)
	}
	select {
	case <-l.resyncs:
		t.Fatal("a resync without a resubscription")
	default:
	}
}

// After stop returns, neither callback runs again, and Close ends the
// subscriptions left running.
func TestStopAndClose(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(leaktest.Check(t))
	a, b := e.open(t, Config{}), e.open(t, Config{})
	l1, stop1 := subscribe(a)
	l2, _ := subscribe(a)
	l1.resynced(t)
	l2.resynced(t)
	ctx := context.Background()
	if _, err := b.Settle(ctx, "batches/s0", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"}); err != nil {
		t.Fatal(err)
	}
	l1.hinted(t, "batches/s0")
	l2.hinted(t, "batches/s0")
	stop1()
	stop1()
	if _, err := b.Settle(ctx, "batches/s1", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"}); err != nil {
		t.Fatal(err)
	}
	l2.hinted(t, "batches/s1")
	select {
	case k := <-l1.hints:
		t.Fatalf("hint %s after stop", k)
	default:
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(a.subs); n != 0 {
		t.Fatalf("%d subscriptions left after Close", n)
	}
	if _, err := b.Settle(ctx, "batches/s2", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"}); err != nil {
		t.Fatal(err)
	}
	// b's hint reached a's server before a second one does; a, closed,
	// must have dropped both.
	l3, stop3 := subscribe(b)
	defer stop3()
	l3.resynced(t)
	if _, err := b.Settle(ctx, "batches/s3", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"}); err != nil {
		t.Fatal(err)
	}
	l3.hinted(t, "batches/s3")
	select {
	case k := <-l2.hints:
		t.Fatalf("hint %s after Close", k)
	default:
	}
	// Subscribe on a closed store does nothing.
	l4, stop4 := subscribe(a)
	stop4()
	select {
	case <-l4.resyncs:
		t.Fatal("resync from a closed store")
	default:
	}
}

// A delivery hints even when it keeps nothing (the job has settled), so
// that a waiter that missed the outcome's hint reads again; a duplicate
// does not.
func TestDeliverHints(t *testing.T) {
	e := newEnv(t)
	a, b := e.open(t, Config{}), e.open(t, Config{})
	l, stop := subscribe(a)
	defer stop()
	l.resynced(t)
	ctx := context.Background()
	if _, err := b.Settle(ctx, "batches/h", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"}); err != nil {
		t.Fatal(err)
	}
	l.hinted(t, "batches/h")
	if _, err := b.Deliver(ctx, "batches/h", "id:1", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true}); err != nil {
		t.Fatal(err)
	}
	if k := l.next(t); k != "batches/h" {
		t.Fatalf("hint %s, want batches/h", k)
	}
	if dup, err := b.Deliver(ctx, "batches/h", "id:1", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true}); err != nil || !dup {
		t.Fatalf("second delivery of id:1: %v %v, want a duplicate", dup, err)
	}
	if _, err := b.Deliver(ctx, "batches/next", "id:2", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true}); err != nil {
		t.Fatal(err)
	}
	// One connection receives in publishing order: a hint for the
	// duplicate would come first.
	if k := l.next(t); k != "batches/next" {
		t.Fatalf("hint %s, want batches/next (a duplicate hinted)", k)
	}
}
