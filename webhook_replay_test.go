package gemhook

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// Security review, finding 1: a JWS covers neither webhook-id nor
// webhook-timestamp, so a token replayed under chosen ids must not steer
// the dedupe of other deliveries.

const victimSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newReplayFixture(t *testing.T) (*ksFixture, *atomic.Int32) {
	store := &hookStore{Store: NewMemoryStore(MemoryStoreConfig{})}
	f := newKS(t, ksStandard(t), func(c *ReceiverConfig) {
		withAudience(c)
		c.Secrets = []string{victimSecret}
		c.Store = store
	})
	return f, &store.delivered
}

// A captured token posted under the id of a genuine delivery that has not
// arrived yet must not make the genuine one a duplicate.
func TestJWSReplayUnderVictimID(t *testing.T) {
	f, dispatched := newReplayFixture(t)
	tok := f.jws(t, ksBody, nil)
	if rec := f.serveHTTP(f.headers("msg_victim", tok), []byte(ksBody)); rec.Code != http.StatusNoContent {
		t.Fatalf("replayed token: %d", rec.Code)
	}
	body := []byte(`{"type":"batch.failed","version":"v1","timestamp":"2026-01-02T03:04:05Z","data":{"id":"batches/victim"}}`)
	ts := strconv.FormatInt(f.now.Unix(), 10)
	h := f.headers("msg_victim", refSign(t, victimSecret, "msg_victim", ts, body))
	if rec := f.serveHTTP(h, body); rec.Code != http.StatusNoContent {
		t.Fatalf("genuine delivery: %d", rec.Code)
	}
	if n := dispatched.Load(); n != 2 {
		t.Fatalf("dispatched %d times, want 2: the genuine delivery was taken for a duplicate", n)
	}
	rec, _ := f.r.store.Lookup(context.Background(), "batches/victim")
	if len(rec.Events) != 1 {
		t.Fatalf("the genuine event was not kept: %+v", rec)
	}
}

// Posting one token under many ids must not flush the dedupe window: the
// ids are never remembered, and the token is remembered once.
func TestJWSReplayCannotFlushDedupe(t *testing.T) {
	f, dispatched := newReplayFixture(t)
	tok := f.jws(t, ksBody, nil)
	before := f.r.seen.Len()
	for i := range 1000 {
		if rec := f.serveHTTP(f.headers("msg_flood"+strconv.Itoa(i), tok), []byte(ksBody)); rec.Code != http.StatusNoContent {
			t.Fatalf("replay %d: %d", i, rec.Code)
		}
	}
	if n := f.r.seen.Len() - before; n != 1 {
		t.Fatalf("1,000 replays left %d dedupe entries, want 1 (the token)", n)
	}
	if n := dispatched.Load(); n != 1 {
		t.Fatalf("dispatched %d times, want 1", n)
	}
}

// An id equal to the token's own replay key used to make a delivery wait
// on its own claim for ever.
func TestJWSReplayKeyAsIDDoesNotHang(t *testing.T) {
	f, _ := newReplayFixture(t)
	tok := f.jws(t, ksBody, nil)
	ev, err := f.verify(f.headers("msg_probe", tok), []byte(ksBody))
	if err != nil {
		t.Fatal(err)
	}
	key := ev.DedupeKey()
	done := make(chan int, 1)
	go func() { done <- f.serveHTTP(f.headers(key, tok), []byte(ksBody)).Code }()
	select {
	case code := <-done:
		if code != http.StatusNoContent && code != http.StatusBadRequest {
			t.Fatalf("status %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a delivery whose id is its token's replay key hangs")
	}
}

// Verify gives its callers a key that is the same for every replay of a
// token, whatever webhook-id it came with, and that differs between
// schemes' namespaces.
func TestDedupeKeyIgnoresUnsignedID(t *testing.T) {
	f, _ := newReplayFixture(t)
	tok := f.jws(t, ksBody, nil)
	a, err := f.verify(f.headers("msg_a", tok), []byte(ksBody))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.verify(f.headers("msg_b", tok), []byte(ksBody))
	if err != nil {
		t.Fatal(err)
	}
	if a.DedupeKey() != b.DedupeKey() || a.DedupeKey() == "" {
		t.Fatalf("DedupeKey = %q and %q for one token", a.DedupeKey(), b.DedupeKey())
	}
	ts := strconv.FormatInt(f.now.Unix(), 10)
	v1, err := f.verify(f.headers(a.DedupeKey(), refSign(t, victimSecret, a.DedupeKey(), ts, []byte(ksBody))), []byte(ksBody))
	if err == nil && v1.DedupeKey() == a.DedupeKey() {
		t.Fatal("a v1 delivery whose id is a JWS replay key shares its dedupe key")
	}
}

// Whatever webhook-id comes with a JWS, its dedupe key is the token's, and
// no v1 delivery's key can take the same value, even with an id shaped like
// one. The ids are those of the replay attacks above.
func TestDedupeKey(t *testing.T) {
	t.Parallel()
	const replay = "jws:0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		ev   Event
		want string
	}{
		{Event{ID: "msg_victim"}, "id:msg_victim"},
		{Event{ID: replay}, "id:" + replay},
		{Event{ID: "id:msg_victim"}, "id:id:msg_victim"},
		{Event{}, ""},
		{Event{ID: "msg_victim", replay: replay}, replay},
		{Event{ID: replay, replay: replay}, replay},
		{Event{replay: replay}, replay},
	} {
		if got := c.ev.DedupeKey(); got != c.want {
			t.Errorf("id %q, replay %q: DedupeKey %q, want %q", c.ev.ID, c.ev.replay, got, c.want)
		}
	}
}

// J-18: a replayed delivery is acknowledged but not handed on twice.
func TestJWSReplayIsIdempotent(t *testing.T) {
	var events atomic.Int32
	f := newKS(t, ksStandard(t), func(c *ReceiverConfig) {
		withAudience(c)
		c.OnEvent = func(context.Context, *Event) { events.Add(1) }
	})
	h := f.headers("msg_replay", f.jws(t, ksBody, nil))
	for i := range 3 {
		if rec := f.serveHTTP(h, []byte(ksBody)); rec.Code/100 != 2 {
			t.Fatalf("delivery %d: %d", i, rec.Code)
		}
	}
	if n := events.Load(); n != 1 {
		t.Fatalf("OnEvent ran %d times, want 1", n)
	}
}

// J-18: a JWS covers neither webhook-id nor webhook-timestamp, so a captured
// token re-sent under a fresh id (and a fresh timestamp) must not be a new
// event: it is acknowledged and reaches neither dispatch nor OnEvent again.
func TestJWSReplayUnderFreshID(t *testing.T) {
	var events atomic.Int32
	store := &hookStore{Store: NewMemoryStore(MemoryStoreConfig{})}
	f := newKS(t, ksStandard(t), func(c *ReceiverConfig) {
		withAudience(c)
		c.OnEvent = func(context.Context, *Event) { events.Add(1) }
		c.Store = store
	})
	dispatched := &store.delivered
	tok := f.jws(t, ksBody, nil)
	if rec := f.serveHTTP(f.headers("msg_first", tok), []byte(ksBody)); rec.Code != http.StatusNoContent {
		t.Fatalf("first delivery: %d", rec.Code)
	}
	if rec := f.serveHTTP(f.headersAt(f.now.Add(30*time.Second), "msg_replayed", tok), []byte(ksBody)); rec.Code != http.StatusNoContent {
		t.Fatalf("replay: %d", rec.Code)
	}
	if d, e := dispatched.Load(), events.Load(); d != 1 || e != 1 {
		t.Fatalf("dispatched %d and OnEvent %d times, want once each", d, e)
	}
	// A new token for the same event is a new delivery as far as the
	// receiver knows (the hub's tombstones keep the job settled once).
	if rec := f.serveHTTP(f.headers("msg_new", f.jws(t, ksBody, func(c map[string]any) { c["jti"] = "another" })), []byte(ksBody)); rec.Code != http.StatusNoContent {
		t.Fatalf("new token: %d", rec.Code)
	}
	if e := events.Load(); e != 2 {
		t.Fatalf("OnEvent %d times after a fresh token, want 2", e)
	}
}
