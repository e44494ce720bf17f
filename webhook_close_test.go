package gemhook

import (
	"errors"
	"testing"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/internal/leaktest"
)

func TestNewRefusesClosedReceiver(t *testing.T) {
	t.Parallel()
	fake := newFakeBatches(t)
	r := newOfflineReceiver(t)
	r.Close()
	if c, err := New(Config{GenAI: fake.genai(t), Receiver: r}); !errors.Is(err, ErrClosed) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("New on a closed Receiver: %v", err)
	}
}

// Closing the Receiver ends the pending futures of its Clients and stops
// them creating jobs that could only settle by poll.
func TestReceiverCloseClosesItsClients(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, noPolls)
	src := &genai.BatchJobSource{FileName: "files/in"}
	pending := fx.c.SubmitBatch(waitCtx(t), "models/m", src, nil)
	if pending.Name() == "" {
		t.Fatal("submission failed")
	}
	fx.r.Close()
	if _, err := pending.Wait(waitCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("pending future after Receiver.Close: %v", err)
	}
	fx.fake.mu.Lock()
	before := fx.fake.creates
	fx.fake.mu.Unlock()
	f := fx.c.SubmitBatch(waitCtx(t), "models/m", src, nil)
	if _, err := f.Wait(waitCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("SubmitBatch after Receiver.Close: %v", err)
	}
	fx.fake.mu.Lock()
	after := fx.fake.creates
	fx.fake.mu.Unlock()
	if after != before {
		t.Fatalf("SubmitBatch after Receiver.Close created %d jobs", after-before)
	}
}

// Clients that come and go on one long-lived Receiver leave nothing
// behind in it.
func TestClosedClientsLeaveNoHook(t *testing.T) {
	t.Parallel()
	fake := newFakeBatches(t)
	gc := fake.genai(t)
	r := newOfflineReceiver(t)
	for range 10 {
		c, err := New(Config{GenAI: gc, Receiver: r})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if n := r.closing.len(); n != 0 {
		t.Fatalf("%d close hooks left after every Client closed", n)
	}
}

func (h *closeHooks) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.fns)
}
