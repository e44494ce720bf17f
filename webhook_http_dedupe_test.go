package gemhook

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
)

// a delivery posted twice is dispatched and reported once.
func TestDuplicateSequential(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	d := eventDelivery(t, vecID, eventBody)
	for i := range 3 {
		if rec := h.post(d.hdr, d.body); rec.Code != http.StatusNoContent {
			t.Fatalf("attempt %d: status %d", i, rec.Code)
		}
	}
	h.acceptedOnce(t)
}

// A retry is re-signed with a new timestamp but keeps its webhook-id: it
// is still a duplicate.
func TestDuplicateResigned(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	for _, ts := range []string{vecTS, "1614265390"} {
		hdr := signedHeader(t, vecSecret, vecID, ts, []byte(eventBody))
		if rec := h.post(hdr, []byte(eventBody)); rec.Code != http.StatusNoContent {
			t.Fatalf("status %d", rec.Code)
		}
	}
	h.acceptedOnce(t)
}

// fifty identical deliveries at once are all acknowledged and
// dispatched once; those that arrive while the first is being dispatched
// wait for it.
func TestDuplicateConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	entered, release := h.holdDispatch(nil)
	d := eventDelivery(t, vecID, eventBody)
	codes := make(chan int, 50)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { codes <- h.post(d.hdr, d.body).Code })
	}
	<-entered
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusNoContent {
			t.Errorf("status %d, want 204", c)
		}
	}
	h.acceptedOnce(t)
}

// A duplicate that gives up waiting for the first (its request context
// ends) is answered 503 and changes nothing.
func TestDuplicateWaitBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	entered, release := h.holdDispatch(nil)
	d := eventDelivery(t, vecID, eventBody)
	first := h.postAsync(d)
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := newPost(d).WithContext(ctx)
	rec := recorder()
	h.r.ServeHTTP(rec, req)
	wantUnavailable(t, rec)
	close(release)
	if c := <-first; c != http.StatusNoContent {
		t.Fatalf("first: status %d", c)
	}
	h.acceptedOnce(t)
}

// Duplicates waiting on a dispatch that fails share its failure (503), and
// the next retry is dispatched afresh.
func TestDuplicateSharesFailure(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	entered, release := h.holdDispatch(errFull)
	d := eventDelivery(t, vecID, eventBody)
	first := h.postAsync(d)
	<-entered
	// Claim as a duplicate would, then wait through the receiver.
	call, isFirst := h.r.seen.Claim(idKey(vecID))
	if isFirst {
		t.Fatal("the in-flight delivery holds no claim")
	}
	close(release)
	if err := call.Wait(context.Background()); !errors.Is(err, errFull) {
		t.Fatalf("waiter got %v, want the dispatch error", err)
	}
	if c := <-first; c != http.StatusServiceUnavailable {
		t.Fatalf("first: status %d, want 503", c)
	}
	h.store.hook = nil
	if rec := h.post(d.hdr, d.body); rec.Code != http.StatusNoContent {
		t.Fatalf("retry: status %d", rec.Code)
	}
	if h.events.Load() != 1 {
		t.Fatalf("OnEvent ran %d times, want 1", h.events.Load())
	}
}

// a forged request carrying the id of a genuine delivery to come
// does not make the genuine one a duplicate.
func TestForgedIDDoesNotBlock(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	d := eventDelivery(t, vecID, eventBody)
	forged := d.hdr.Clone()
	forged.Set("Webhook-Signature", "v1,"+randB64(t, 32))
	if rec := h.post(forged, d.body); rec.Code != http.StatusUnauthorized {
		t.Fatalf("forged: status %d, want 401", rec.Code)
	}
	h.untouched(t)
	if rec := h.post(d.hdr, d.body); rec.Code != http.StatusNoContent {
		t.Fatalf("genuine: status %d, want 204", rec.Code)
	}
	h.acceptedOnce(t)
}
