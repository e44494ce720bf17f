package gemhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genai"
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

// While the Store is down, every retry is a 503 that would log a Warn
// record: they share the rejections' bucket, so an outage costs a few
// records a minute. They are not rejections: the sender was right.
func TestStoreOutageLogsBounded(t *testing.T) {
	t.Parallel()
	now := vecTime
	l := &logs{}
	st := &flakyStore{MemoryStore: NewMemoryStore(MemoryStoreConfig{})}
	h := newHarness(t, ReceiverConfig{Store: st, Logger: l.logger(), Now: func() time.Time { return now }})
	st.down.Store(true)
	const n = 50
	post := func(i int) {
		d := eventDelivery(t, "msg_"+strconv.Itoa(i), eventBody)
		wantUnavailable(t, h.post(d.hdr, d.body))
	}
	for i := range n {
		post(i)
	}
	recs := l.at(slog.LevelWarn, "webhook not accepted now")
	if len(recs) != rejectBurst {
		t.Fatalf("%d refusals at one instant made %d Warn records, want %d", n, len(recs), rejectBurst)
	}
	if r := recs[0]; r.attrs["reason"] != "store_unavailable" || !strings.Contains(r.attrs["err"], errUnreachable.Error()) || r.attrs["webhook_id"] != "msg_0" {
		t.Errorf("record %+v", r)
	}
	now = now.Add(rejectEvery) // one more token; the tolerance is minutes
	post(n)
	recs = l.at(slog.LevelWarn, "webhook not accepted now")
	if len(recs) != rejectBurst+1 {
		t.Fatalf("after %v, %d records in all, want %d", rejectEvery, len(recs), rejectBurst+1)
	}
	if got := recs[rejectBurst].attrs["left_out_by_reason.store_unavailable"]; got != strconv.Itoa(n-rejectBurst) {
		t.Errorf("left_out_by_reason.store_unavailable %q, want %d", got, n-rejectBurst)
	}
	if got := h.r.rejects.total.Load(); got != 0 {
		t.Errorf("%d rejections counted, want 0", got)
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

// eventKey runs on every delivery: only a video event's key, which is
// built, allocates.
func TestEventKeyAllocs(t *testing.T) {
	for _, ev := range []*Event{
		{Type: "batch.succeeded", Resource: "batches/abc123"},
		{Type: "interaction.requires_action", Resource: "interactions/v1_abc"},
		{Type: "batch.running", Resource: "batches/abc123"},
		{Type: "webhook.ping", Resource: "hook"},
	} {
		if n := testing.AllocsPerRun(100, func() { _, _, _ = eventKey(ev) }); n != 0 {
			t.Errorf("%s: %v allocations", ev.Type, n)
		}
	}
}
