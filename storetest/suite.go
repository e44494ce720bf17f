package storetest

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// patience bounds every wait for a hint or an expiry on a real server.
const patience = 10 * time.Second

// Run runs every case against the stores h makes. Cases that need a hook h
// lacks are skipped and say so.
func Run(t *testing.T, h Harness) {
	if h.Open == nil {
		t.Fatal("storetest: Harness.Open is nil")
	}
	// Goroutines are counted for the whole process, so this case runs
	// alone, before the others start in parallel.
	t.Run("NoGoroutinesAfterClose", func(t *testing.T) { noLeaks(t, h) })
	cases := []struct {
		name string
		f    func(*testing.T, Harness)
	}{
		{"EventBeforeRegister", eventBeforeRegister},
		{"HintAcrossReplicas", hintAcrossReplicas},
		{"RacingDeliverAndRegister", racingDeliverAndRegister},
		{"DuplicatesAgree", duplicatesAgree},
		{"ConcurrentSettlesAgree", concurrentSettlesAgree},
		{"SettleEndsTheJob", settleEndsTheJob},
		{"RegisterKeepsTheFirst", registerKeepsTheFirst},
		{"EventsAreBounded", eventsAreBounded},
		{"LostHintsAreReread", lostHintsAreReread},
		{"ReplicaKilled", replicaKilled},
		{"TwoPollersOneLease", twoPollersOneLease},
		{"CallerTimesDecideNothing", callerTimesDecideNothing},
		{"Expiry", expiry},
		{"Unavailable", unavailable},
		{"StopEndsHints", stopEndsHints},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.f(t, h)
		})
	}
}

var (
	done   = gemhook.JobEvent{Type: "batch.succeeded", Terminal: true}
	failed = gemhook.JobEvent{Type: "batch.failed", Terminal: true, Code: "9", Message: "boom"}
)

func job(name string) gemhook.PendingJob {
	return gemhook.PendingJob{Name: name, Kind: gemhook.KindBatch, Submitted: time.Now().UTC().Truncate(time.Millisecond)}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	t.Cleanup(cancel)
	return ctx
}

// hints subscribes s and collects what it hears.
type hints struct {
	mu      sync.Mutex
	keys    map[string]int
	ch      chan string
	resyncs atomic.Int32
	synced  chan struct{}
	stop    func()
}

func subscribe(t *testing.T, s gemhook.Store) *hints {
	t.Helper()
	h := &hints{keys: make(map[string]int), ch: make(chan string, 4096), synced: make(chan struct{}, 64)}
	h.stop = s.Subscribe(func(key string) {
		h.mu.Lock()
		h.keys[key]++
		h.mu.Unlock()
		select {
		case h.ch <- key:
		default:
		}
	}, func(bool) {
		h.resyncs.Add(1)
		select {
		case h.synced <- struct{}{}:
		default:
		}
	})
	t.Cleanup(h.stop)
	// Subscribe, then read: a case starts once the subscription stands.
	select {
	case <-h.synced:
	case <-time.After(patience):
		t.Fatal("no resync within", patience, "of Subscribe: the subscription never stood")
	}
	return h
}

func (h *hints) heard(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.keys[key]
}

// await waits for a hint about key.
func (h *hints) await(t *testing.T, key string) {
	t.Helper()
	deadline := time.After(patience)
	for h.heard(key) == 0 {
		select {
		case <-h.ch:
		case <-deadline:
			t.Fatalf("no hint about %s within %v", key, patience)
		}
	}
}

// eventually retries f until it reports true; for what only the server's
// clock decides.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, patience)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// result carries a call's two results to ok, which fails the test on an
// error: got(s.Lookup(ctx, key)).ok(t).
type result[T any] struct {
	v   T
	err error
}

func got[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) ok(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func kill(t *testing.T, s gemhook.Store) {
	t.Helper()
	if c, ok := s.(io.Closer); ok {
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}

func eventBeforeRegister(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	if dup := got(a.Deliver(ctx, "batches/early", "id:1", failed)).ok(t); dup {
		t.Fatal("a first delivery reported as duplicate")
	}
	for _, s := range []gemhook.Store{a, b, b} {
		rec := got(s.Register(ctx, "batches/early", job("batches/early"))).ok(t)
		if len(rec.Events) != 1 || rec.Events[0] != failed {
			t.Fatalf("Register = %+v, want the early event, not consumed by an earlier Register", rec)
		}
		if rec.Job == nil || rec.Job.Name != "batches/early" || rec.Outcome != nil {
			t.Fatalf("Register = %+v, want the job pending", rec)
		}
	}
}

func hintAcrossReplicas(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	hb := subscribe(t, b)
	got(b.Register(ctx, "batches/x", job("batches/x"))).ok(t)
	got(a.Deliver(ctx, "batches/x", "id:x", done)).ok(t)
	hb.await(t, "batches/x")
	if rec := got(b.Lookup(ctx, "batches/x")).ok(t); len(rec.Events) != 1 {
		t.Fatalf("B's Lookup after the hint = %+v, want A's event", rec)
	}
	got(a.Settle(ctx, "batches/x", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"})).ok(t)
	eventually(t, "a hint for the outcome", func() bool { return hb.heard("batches/x") >= 2 })
}

// racingDeliverAndRegister: 500 jobs, each delivered on A while B
// registers it. B must learn of every event, from Register's record or
// from a hint followed by a Lookup.
func racingDeliverAndRegister(t *testing.T, h Harness) {
	const n = 500
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	hb := subscribe(t, b)
	var missed sync.Map
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		key := "batches/race" + strconv.Itoa(i)
		wg.Add(2)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			if _, err := a.Deliver(ctx, key, "id:"+key, done); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rec, err := b.Register(ctx, key, job(key))
			if err != nil {
				t.Error(err)
				return
			}
			if len(rec.Events) == 0 {
				missed.Store(key, true)
			}
		}()
	}
	wg.Wait()
	lost := 0
	missed.Range(func(k, _ any) bool {
		key := k.(string)
		hb.await(t, key)
		if rec := got(b.Lookup(ctx, key)).ok(t); len(rec.Events) == 0 {
			lost++
		}
		return true
	})
	if lost > 0 {
		t.Fatalf("%d of %d events never reached the registering replica", lost, n)
	}
}

func duplicatesAgree(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	rs := []gemhook.Store{replica(), replica()}
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dup, err := rs[i%2].Deliver(ctx, "batches/d", "id:same", done)
			if err != nil {
				t.Error(err)
			} else if !dup {
				fresh.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := fresh.Load(); n != 1 {
		t.Fatalf("%d of 20 identical deliveries were taken as new, want 1", n)
	}
	// The id is per job: the same id about another job is another delivery.
	if dup := got(rs[0].Deliver(ctx, "batches/other", "id:same", done)).ok(t); dup {
		t.Fatal("an id seen for one job made another job's delivery a duplicate")
	}
	// No id: never a duplicate.
	for range 2 {
		if dup := got(rs[1].Deliver(ctx, "batches/d", "", done)).ok(t); dup {
			t.Fatal("a delivery without id reported as duplicate")
		}
	}
}

func concurrentSettlesAgree(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	rs := []gemhook.Store{replica(), replica()}
	got(rs[0].Register(ctx, "batches/s", job("batches/s"))).ok(t)
	winners := make([]gemhook.Outcome, 20)
	var wg sync.WaitGroup
	for i := range winners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := gemhook.Outcome{State: "STATE_" + strconv.Itoa(i), Code: strconv.Itoa(i), Value: []byte(`{"n":` + strconv.Itoa(i) + `}`)}
			w, err := rs[i%2].Settle(ctx, "batches/s", o)
			if err != nil {
				t.Error(err)
			}
			winners[i] = w
		}()
	}
	wg.Wait()
	rec := got(rs[1].Lookup(ctx, "batches/s")).ok(t)
	if rec.Outcome == nil {
		t.Fatal("no outcome after 20 settles")
	}
	for i, o := range winners {
		if fmt.Sprint(o) != fmt.Sprint(*rec.Outcome) {
			t.Fatalf("settle %d saw %+v as the winner, Lookup says %+v", i, o, *rec.Outcome)
		}
	}
}

func settleEndsTheJob(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	got(a.Register(ctx, "batches/e", job("batches/e"))).ok(t)
	got(a.Register(ctx, "batches/f", job("batches/f"))).ok(t)
	got(b.Deliver(ctx, "batches/e", "id:e1", failed)).ok(t)
	o := gemhook.Outcome{State: "JOB_STATE_FAILED", Code: "9", Message: "boom", Value: []byte(`{"name":"batches/e"}`)}
	if w := got(b.Settle(ctx, "batches/e", o)).ok(t); fmt.Sprint(w) != fmt.Sprint(o) {
		t.Fatalf("Settle = %+v, want %+v", w, o)
	}
	rec := got(a.Lookup(ctx, "batches/e")).ok(t)
	if rec.Outcome == nil || fmt.Sprint(*rec.Outcome) != fmt.Sprint(o) || rec.Job != nil {
		t.Fatalf("Lookup after Settle = %+v", rec)
	}
	if dup := got(b.Deliver(ctx, "batches/e", "id:e2", done)).ok(t); dup {
		t.Fatal("a new id reported as duplicate")
	}
	if rec := got(a.Lookup(ctx, "batches/e")).ok(t); len(rec.Events) != 0 {
		t.Fatalf("an event for a settled job was kept: %+v", rec.Events)
	}
	if rec := got(b.Register(ctx, "batches/e", job("batches/e"))).ok(t); rec.Outcome == nil || rec.Job != nil {
		t.Fatalf("Register of a settled job = %+v, want its outcome and no registration", rec)
	}
	ps := got(a.Pending(ctx)).ok(t)
	if len(ps) != 1 || ps[0].Name != "batches/f" {
		t.Fatalf("Pending = %+v, want only batches/f", ps)
	}
}

func registerKeepsTheFirst(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first := gemhook.PendingJob{Name: "batches/k", Kind: gemhook.KindBatch, Token: "tok-1", Submitted: t0.Add(time.Minute),
		Metadata: map[string]any{"tenant": "a", "n": 2.0}, Trace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	got(a.Register(ctx, "batches/k", first)).ok(t)
	again := gemhook.PendingJob{Name: "batches/k", Kind: gemhook.KindBatch, Submitted: t0.Add(time.Hour)}
	rec := got(b.Register(ctx, "batches/k", again)).ok(t)
	if rec.Job == nil || rec.Job.Token != "tok-1" || !rec.Job.Submitted.Equal(first.Submitted) ||
		rec.Job.Metadata["tenant"] != "a" || rec.Job.Metadata["n"] != 2.0 || rec.Job.Kind != gemhook.KindBatch ||
		rec.Job.Trace != first.Trace {
		t.Fatalf("second Register = %+v, want the first registration", rec.Job)
	}
	older := gemhook.PendingJob{Name: "operations/v", Kind: gemhook.KindVideos, Submitted: t0}
	got(b.Register(ctx, "operations/v", older)).ok(t)
	ps := got(a.Pending(ctx)).ok(t)
	if len(ps) != 2 || ps[0].Name != "operations/v" || ps[1].Name != "batches/k" || ps[1].Token != "tok-1" || ps[1].Trace != first.Trace {
		t.Fatalf("Pending = %+v, want both, oldest first", ps)
	}
}

func eventsAreBounded(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	s := replica()
	got(s.Register(ctx, "batches/b", job("batches/b"))).ok(t)
	first := gemhook.JobEvent{Type: "batch.failed", Terminal: true, Token: "t0", Code: "1"}
	got(s.Deliver(ctx, "batches/b", "id:first", first)).ok(t)
	later := first
	later.Code = "2"
	got(s.Deliver(ctx, "batches/b", "id:later", later)).ok(t)
	// Another project's secret signed this one: kept apart, so that a
	// forgery with a stolen secret cannot shadow the genuine event.
	other := first
	other.Signer, other.Code = "0123456789abcdef01234567", "3"
	got(s.Deliver(ctx, "batches/b", "id:other", other)).ok(t)
	// A token may hold any text: a newline in it names no signer.
	odd := first
	odd.Token, odd.Code = first.Token+"\n"+other.Signer, "4"
	got(s.Deliver(ctx, "batches/b", "id:odd", odd)).ok(t)
	for i := range 20 {
		ev := gemhook.JobEvent{Type: "batch.succeeded", Terminal: true, Token: "t" + strconv.Itoa(i+1)}
		got(s.Deliver(ctx, "batches/b", "id:"+strconv.Itoa(i), ev)).ok(t)
	}
	rec := got(s.Lookup(ctx, "batches/b")).ok(t)
	if len(rec.Events) == 0 || len(rec.Events) > 8 {
		t.Fatalf("%d events kept, want 1 to 8", len(rec.Events))
	}
	if rec.Events[0] != first {
		t.Fatalf("first event = %+v, want %+v (the first per token, signer and terminality)", rec.Events[0], first)
	}
	if len(rec.Events) < 3 || rec.Events[1] != other || rec.Events[2] != odd {
		t.Fatalf("events = %+v, want the other signer's event second, its Signer kept, and the odd token's third", rec.Events)
	}
	// Progress of a job nobody registered is not kept.
	got(s.Deliver(ctx, "batches/nobody", "id:p", gemhook.JobEvent{Type: "batch.running"})).ok(t)
	if rec := got(s.Lookup(ctx, "batches/nobody")).ok(t); len(rec.Events) != 0 || rec.Job != nil {
		t.Fatalf("a progress event for an unregistered job was kept: %+v", rec)
	}
}

func lostHintsAreReread(t *testing.T, h Harness) {
	if h.DropHints == nil {
		t.Skip("Harness.DropHints is nil")
	}
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	hb := subscribe(t, b)
	got(b.Register(ctx, "batches/lost", job("batches/lost"))).ok(t)
	before := hb.resyncs.Load()
	h.DropHints(t, b)
	got(a.Deliver(ctx, "batches/lost", "id:lost", done)).ok(t)
	eventually(t, "a resync after the subscription was cut", func() bool { return hb.resyncs.Load() > before })
	if rec := got(b.Lookup(ctx, "batches/lost")).ok(t); len(rec.Events) != 1 {
		t.Fatalf("after the resync B reads %+v, want the event delivered while it was cut off", rec)
	}
	// And hints flow again: for a key nothing was hinted for before.
	got(a.Deliver(ctx, "batches/after", "id:after", failed)).ok(t)
	eventually(t, "hints after the resubscription", func() bool { return hb.heard("batches/after") > 0 })
}

func replicaKilled(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	got(a.Register(ctx, "batches/k", job("batches/k"))).ok(t)
	if ok := got(a.Lease(ctx, "batches/k", "a", 2*time.Second)).ok(t); !ok {
		t.Fatal("a free lease was refused")
	}
	got(a.Deliver(ctx, "batches/k", "id:k", done)).ok(t)
	kill(t, a) // mid-dispatch: it holds the lease and never settles
	rec := got(b.Lookup(ctx, "batches/k")).ok(t)
	if rec.Job == nil || len(rec.Events) != 1 {
		t.Fatalf("B reads %+v after A died, want the job and its event", rec)
	}
	if ok := got(b.Lease(ctx, "batches/k", "b", time.Minute)).ok(t); ok {
		t.Fatal("B took a lease A still held")
	}
	eventually(t, "the dead replica's lease to expire", func() bool {
		return got(b.Lease(ctx, "batches/k", "b", time.Minute)).ok(t)
	})
}

func twoPollersOneLease(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	for i := range 50 {
		key := "batches/l" + strconv.Itoa(i)
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for _, p := range []struct {
			s     gemhook.Store
			owner string
		}{{a, "a"}, {b, "b"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := p.s.Lease(ctx, key, p.owner, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
					winner.Store(p.owner)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%s: %d pollers hold the lease, want 1", key, wins.Load())
		}
		w := winner.Load().(string)
		other, ws, os := "b", a, b
		if w == "b" {
			other, ws, os = "a", b, a
		}
		if !got(ws.Lease(ctx, key, w, time.Minute)).ok(t) {
			t.Fatalf("%s: the holder could not renew", key)
		}
		if err := os.Release(ctx, key, other); err != nil { // not its lease: a no-op
			t.Fatal(err)
		}
		if got(os.Lease(ctx, key, other, time.Minute)).ok(t) {
			t.Fatalf("%s: a Release by a non-holder freed the lease", key)
		}
		if err := ws.Release(ctx, key, w); err != nil {
			t.Fatal(err)
		}
		if !got(os.Lease(ctx, key, other, time.Minute)).ok(t) {
			t.Fatalf("%s: the lease stayed taken after its holder released it", key)
		}
	}
}

// callerTimesDecideNothing: times callers pass (a job's Submitted, from a
// clock a month behind, longer ago than any TTL) must not expire a
// registration, an event, an outcome or a lease, which run on the store's
// clock alone.
func callerTimesDecideNothing(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{OutcomeTTL: time.Hour, DedupeTTL: time.Hour})
	a, b := replica(), replica()
	behind := job("batches/c")
	behind.Submitted = time.Now().Add(-30 * 24 * time.Hour)
	got(a.Register(ctx, "batches/c", behind)).ok(t)
	if !got(a.Lease(ctx, "batches/c", "a", 30*time.Second)).ok(t) {
		t.Fatal("a free lease was refused")
	}
	if got(b.Lease(ctx, "batches/c", "b", 30*time.Second)).ok(t) {
		t.Fatal("B took a live lease")
	}
	got(a.Settle(ctx, "batches/c", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"})).ok(t)
	if rec := got(b.Lookup(ctx, "batches/c")).ok(t); rec.Outcome == nil {
		t.Fatal("the outcome is gone at once")
	}

	// A job submitted long ago (attached to after a restart, or stamped by
	// a clock that is behind), longer than any store keeps a registration,
	// is as pending as any other: its Submitted time starts no expiry.
	old := job("batches/old")
	old.Submitted = time.Now().Add(-30 * 24 * time.Hour)
	got(a.Register(ctx, "batches/old", old)).ok(t)
	got(a.Deliver(ctx, "batches/old", "id:old", done)).ok(t)
	rec := got(b.Lookup(ctx, "batches/old")).ok(t)
	if rec.Job == nil || !rec.Job.Submitted.Equal(old.Submitted) || len(rec.Events) != 1 {
		t.Fatalf("a job submitted 30 days ago: %+v", rec)
	}
	listed := false
	for _, p := range got(b.Pending(ctx)).ok(t) {
		listed = listed || p.Name == "batches/old"
	}
	if !listed {
		t.Fatal("a job submitted 30 days ago is missing from Pending")
	}
}

func expiry(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	const ttl = time.Second
	replica := h.Open(t, Config{DedupeTTL: ttl, OutcomeTTL: ttl, EventTTL: ttl})
	a, b := replica(), replica()
	got(a.Deliver(ctx, "batches/orphan", "id:o", done)).ok(t)
	got(a.Settle(ctx, "batches/done", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"})).ok(t)
	got(a.Lease(ctx, "batches/leased", "a", ttl)).ok(t)
	if rec := got(b.Lookup(ctx, "batches/orphan")).ok(t); len(rec.Events) != 1 {
		t.Fatalf("the orphan is gone at once: %+v", rec)
	}
	eventually(t, "the orphan event to expire", func() bool {
		return len(got(b.Lookup(ctx, "batches/orphan")).ok(t).Events) == 0
	})
	eventually(t, "the outcome to expire", func() bool {
		return got(b.Lookup(ctx, "batches/done")).ok(t).Outcome == nil
	})
	eventually(t, "the lease to expire", func() bool {
		return got(b.Lease(ctx, "batches/leased", "b", time.Minute)).ok(t)
	})
	eventually(t, "the delivery id to expire", func() bool {
		return !got(b.Deliver(ctx, "batches/other", "id:o2", done)).ok(t) && !got(b.Deliver(ctx, "batches/orphan", "id:o", done)).ok(t)
	})
}

func unavailable(t *testing.T, h Harness) {
	if h.Break == nil {
		t.Skip("Harness.Break is nil")
	}
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	got(b.Register(ctx, "batches/u", job("batches/u"))).ok(t)
	h.Break(t, a)
	if _, err := a.Deliver(ctx, "batches/u", "id:u", done); err == nil {
		t.Fatal("Deliver on a broken store returned nil: the Receiver would answer 2xx and lose the event")
	}
	if _, err := a.Register(ctx, "batches/v", job("batches/v")); err == nil {
		t.Fatal("Register on a broken store returned nil")
	}
	if _, err := a.Settle(ctx, "batches/u", gemhook.Outcome{State: "X"}); err == nil {
		t.Fatal("Settle on a broken store returned nil")
	}
	if _, err := a.Lease(ctx, "batches/u", "a", time.Minute); err == nil {
		t.Fatal("Lease on a broken store returned nil")
	}
	// The sender retries on another replica; nothing was lost or half-written.
	if dup := got(b.Deliver(ctx, "batches/u", "id:u", done)).ok(t); dup {
		t.Fatal("the retry of a refused delivery is a duplicate")
	}
	if rec := got(b.Lookup(ctx, "batches/u")).ok(t); len(rec.Events) != 1 || rec.Outcome != nil {
		t.Fatalf("after the retry: %+v", rec)
	}
}

func stopEndsHints(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	replica := h.Open(t, Config{})
	a, b := replica(), replica()
	stopped := subscribe(t, b)
	stopped.stop()
	n := stopped.resyncs.Load()
	live := subscribe(t, b)
	got(a.Deliver(ctx, "batches/s", "id:s", done)).ok(t)
	live.await(t, "batches/s")
	if stopped.heard("batches/s") != 0 || stopped.resyncs.Load() != n {
		t.Fatal("a stopped subscription still hears")
	}
}

func noLeaks(t *testing.T, h Harness) {
	ctx := ctxFor(t)
	check := leaktest.Check(t)
	func() {
		replica := h.Open(t, Config{})
		a, b := replica(), replica()
		ha, hb := subscribe(t, a), subscribe(t, b)
		got(a.Register(ctx, "batches/g", job("batches/g"))).ok(t)
		got(b.Deliver(ctx, "batches/g", "id:g", done)).ok(t)
		ha.await(t, "batches/g")
		ha.stop()
		hb.stop()
		kill(t, a)
		kill(t, b)
	}()
	check()
}
