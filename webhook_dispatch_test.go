package gemhook

import (
	"context"

	"errors"
	"google.golang.org/genai"
	"net/http"
	"sync/atomic"
	"testing"
)

// flakyStore is a MemoryStore whose Deliver fails while down is set, as a
// store server that cannot be reached would.
type flakyStore struct {
	*MemoryStore
	down atomic.Bool
}

var errUnreachable = errors.New("store unreachable")

func (s *flakyStore) Deliver(ctx context.Context, key, id string, ev JobEvent) (bool, error) {
	if s.down.Load() {
		return false, errUnreachable
	}
	return s.MemoryStore.Deliver(ctx, key, id, ev)
}

// A store that cannot take an event makes the delivery a 503, which Gemini
// retries; nothing is remembered, so the retry is taken.
func TestStoreErrorAnswers503AndLosesNothing(t *testing.T) {
	t.Parallel()
	st := &flakyStore{MemoryStore: NewMemoryStore(MemoryStoreConfig{})}
	h := newHarness(t, ReceiverConfig{Store: st})
	st.down.Store(true)
	d := eventDelivery(t, vecID, eventBody)
	rec := h.post(d.hdr, d.body)
	wantUnavailable(t, rec)
	if n := h.r.seen.Len(); n != 0 {
		t.Fatalf("a refused delivery left %d dedupe entries", n)
	}
	if n := h.events.Load(); n != 0 {
		t.Fatalf("OnEvent ran %d times for a refused delivery", n)
	}
	st.down.Store(false)
	if rec := h.post(d.hdr, d.body); rec.Code != http.StatusNoContent {
		t.Fatalf("retry: %d", rec.Code)
	}
	if r, _ := st.Lookup(context.Background(), "batches/abc"); len(r.Events) != 1 {
		t.Fatalf("after the retry the store holds %+v", r)
	}
	if n := h.events.Load(); n != 1 {
		t.Fatalf("OnEvent ran %d times, want 1", n)
	}
}

// Two replicas over one store: a retry that lands on the other replica is
// acknowledged there and handled once, cluster-wide.
func TestRetryOnAnotherReplicaIsADuplicate(t *testing.T) {
	t.Parallel()
	st := NewMemoryStore(MemoryStoreConfig{})
	a := newHarness(t, ReceiverConfig{Store: st})
	b := newHarness(t, ReceiverConfig{Store: st})
	d := eventDelivery(t, vecID, eventBody)
	for _, h := range []*harness{a, b, b} {
		if rec := h.post(d.hdr, d.body); rec.Code != http.StatusNoContent {
			t.Fatalf("status %d", rec.Code)
		}
	}
	if n := a.events.Load() + b.events.Load(); n != 1 {
		t.Fatalf("OnEvent ran %d times across the replicas, want 1", n)
	}
}

// forgetfulStore hands its subscriber's resync to the test, to play a
// server that restarted and lost its keys.
type forgetfulStore struct {
	*MemoryStore
	resync func(lost bool)
}

func (s *forgetfulStore) Subscribe(hint func(string), resync func(bool)) func() {
	s.resync = resync
	return s.MemoryStore.Subscribe(hint, resync)
}

// A resync that says the store lost its records makes every waiter ask the
// API: an event the store had taken may be gone with them.
func TestLostStoreMakesWaitersAsk(t *testing.T) {
	t.Parallel()
	st := &forgetfulStore{MemoryStore: NewMemoryStore(MemoryStoreConfig{})}
	r, err := NewReceiver(ReceiverConfig{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	fx := &clientFixture{fake: newFakeBatches(t), r: r}
	fx.c, err = New(Config{GenAI: fx.fake.genai(t), Receiver: r, Fallback: Fallback{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	f := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	fx.fake.set(f.Name(), "BATCH_STATE_SUCCEEDED")
	st.resync(false) // hints were lost, the records were not: nothing to ask
	fx.c.work.drain()
	if n := fx.fake.getCount(f.Name()); n != 0 {
		t.Fatalf("%d gets after a resync that lost nothing", n)
	}
	st.resync(true)
	if job, err := f.Wait(waitCtx(t)); err != nil || job.State != genai.JobStateSucceeded {
		t.Fatalf("Wait = %+v, %v", job, err)
	}
	fx.c.Close()
	fx.r.Close()
}
