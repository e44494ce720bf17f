package gemhooktest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// Close abandons queued deliveries and cancels one in flight, returns
// promptly, and leaves no goroutine behind.
func TestCloseStopsEverything(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	inFlight := make(chan struct{}, 10)
	rc := newReceiver(t)
	rc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // lets net/http notice the sender hanging up
		inFlight <- struct{}{}
		<-r.Context().Done() // hold the attempt until the sender gives up on it
	})
	s := NewServer(Options{JobDuration: -1, Workers: 1})
	s.RegisterWebhook(rc.URL)
	c := newClient(t, s)
	names := createBatches(t, c, 5)
	finishAll(t, s, names)
	<-inFlight
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	s.Close() // idempotent
	if err := s.Finish(names[0], Failed); !errors.Is(err, ErrClosed) {
		t.Fatalf("Finish after Close: %v", err)
	}
	if _, err := c.Batches.Get(context.Background(), names[0], nil); err == nil {
		t.Fatal("the API still answers after Close")
	}
	log := s.Deliveries()
	if len(log) == 0 || log[0].Result != Abandoned {
		t.Fatalf("log %+v", log)
	}
}
