package hub

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/fakeclock"
)

type waiter struct {
	mu    sync.Mutex
	notes []Note
}

func (w *waiter) Wake(n Note) {
	w.mu.Lock()
	w.notes = append(w.notes, n)
	w.mu.Unlock()
}

func (w *waiter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.notes)
}

func newTestHub(cfg Config) (*Hub, *fakeclock.Clock) {
	c := fakeclock.New(time.Unix(1_700_000_000, 0))
	cfg.Now = c.Now
	return New(cfg), c
}

var done = Note{Type: "batch.succeeded", Terminal: true}

func TestDeliverWakesWaiters(t *testing.T) {
	h, _ := newTestHub(Config{})
	a, b := &waiter{}, &waiter{}
	h.Register("batches/1", a)
	h.Register("batches/1", b)
	if err := h.Deliver("batches/1", done); err != nil {
		t.Fatal(err)
	}
	if a.count() != 1 || b.count() != 1 {
		t.Fatalf("wakes = %d, %d; want 1, 1", a.count(), b.count())
	}
	if err := h.Deliver("batches/2", Note{Type: "batch.running"}); err != nil {
		t.Fatal(err)
	}
	if s := h.Stats(); s.Orphans != 0 || s.Waiting != 1 {
		t.Fatalf("progress event for an unknown job changed state: %+v", s)
	}
}

func TestEarlyEventIsHandedOverOnRegister(t *testing.T) {
	h, _ := newTestHub(Config{})
	ev := Note{Type: "batch.failed", Terminal: true, Code: "9"}
	if err := h.Deliver("batches/early", ev); err != nil {
		t.Fatal(err)
	}
	if err := h.Deliver("batches/early", Note{Type: "batch.succeeded", Terminal: true}); err != nil {
		t.Fatal(err)
	}
	w := &waiter{}
	n, ok := h.Register("batches/early", w)
	if !ok || n != ev {
		t.Fatalf("Register = %+v, %v; want the first orphan", n, ok)
	}
	if _, ok := h.Register("batches/early", &waiter{}); ok {
		t.Fatal("an orphan was handed over twice")
	}
	if s := h.Stats(); s.Orphans != 0 {
		t.Fatalf("orphans = %d after hand-over", s.Orphans)
	}
}

func TestOrphansExpireAndBound(t *testing.T) {
	h, clk := newTestHub(Config{OrphanTTL: time.Minute, MaxOrphans: 3})
	for i := range 3 {
		if err := h.Deliver(fmt.Sprint("batches/", i), done); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Deliver("batches/0", done); err != nil {
		t.Fatalf("a duplicate orphan needs no room: %v", err)
	}
	if err := h.Deliver("batches/full", done); !errors.Is(err, ErrFull) {
		t.Fatalf("Deliver into a full buffer = %v, want ErrFull", err)
	}
	clk.Advance(30 * time.Second)
	if err := h.Deliver("batches/full", done); !errors.Is(err, ErrFull) {
		t.Fatalf("Deliver before expiry = %v, want ErrFull", err)
	}
	clk.Advance(31 * time.Second)
	if err := h.Deliver("batches/full", done); err != nil {
		t.Fatalf("Deliver after expiry = %v", err)
	}
	s := h.Stats()
	if s.Orphans != 1 || s.OrphansExpired != 3 {
		t.Fatalf("stats = %+v, want 1 orphan and 3 expired", s)
	}
	if _, ok := h.Register("batches/1", &waiter{}); ok {
		t.Fatal("an expired orphan was handed over")
	}
}

func TestSettledJobsIgnoreRedeliveries(t *testing.T) {
	h, clk := newTestHub(Config{TombstoneTTL: 24 * time.Hour})
	w := &waiter{}
	h.Register("batches/x", w)
	h.Settle("batches/x", w, "batch.succeeded")
	for range 3 {
		if err := h.Deliver("batches/x", Note{Type: "batch.failed", Terminal: true}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(23 * time.Hour)
	if err := h.Deliver("batches/x", done); err != nil {
		t.Fatal(err)
	}
	s := h.Stats()
	if s.Orphans != 0 || s.Duplicates != 4 || s.Waiting != 0 || w.count() != 0 {
		t.Fatalf("stats = %+v, wakes = %d; want 4 duplicates and nothing else", s, w.count())
	}
	if o, ok := h.Settled("batches/x"); !ok || o != "batch.succeeded" {
		t.Fatalf("Settled = %q, %v; the first outcome must stay", o, ok)
	}
	clk.Advance(2 * time.Hour)
	if _, ok := h.Settled("batches/x"); ok {
		t.Fatal("tombstone outlived its TTL")
	}
	if err := h.Deliver("batches/x", done); err != nil || h.Stats().Orphans != 1 {
		t.Fatalf("after the tombstone expired the event should be an orphan: %v", err)
	}
}

func TestTombstonesEvictOldestWhenFull(t *testing.T) {
	h, clk := newTestHub(Config{MaxTombstones: 100})
	for i := range 250 {
		w := &waiter{}
		k := fmt.Sprint("batches/", i)
		h.Register(k, w)
		h.Settle(k, w, "batch.succeeded")
		clk.Advance(time.Second)
	}
	if n := h.Stats().Tombstones; n != 100 {
		t.Fatalf("tombstones = %d, want 100", n)
	}
	if _, ok := h.Settled("batches/149"); ok {
		t.Fatal("an old tombstone survived eviction")
	}
	if _, ok := h.Settled("batches/150"); !ok {
		t.Fatal("a recent tombstone was evicted")
	}
}

func TestUnregisterLeavesNoTombstone(t *testing.T) {
	h, _ := newTestHub(Config{})
	w := &waiter{}
	h.Register("batches/u", w)
	h.Unregister("batches/u", w)
	h.Unregister("batches/u", w)
	if s := h.Stats(); s.Waiting != 0 || s.Tombstones != 0 {
		t.Fatalf("stats = %+v", s)
	}
	if err := h.Deliver("batches/u", done); err != nil || w.count() != 0 {
		t.Fatalf("an unregistered waiter was woken (err %v)", err)
	}
}

// Registration racing delivery: every job must get its event exactly once,
// either as a wake or as an orphan handed over.
func TestRegisterRacesDeliver(t *testing.T) {
	h, _ := newTestHub(Config{MaxOrphans: 100_000})
	const n = 2000
	var got atomic.Int64
	ws := make([]*waiter, n)
	var wg sync.WaitGroup
	for i := range n {
		ws[i] = &waiter{}
		k := fmt.Sprint("batches/", i)
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := h.Deliver(k, done); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, ok := h.Register(k, ws[i]); ok {
				got.Add(1)
			}
		}()
	}
	wg.Wait()
	for _, w := range ws {
		got.Add(int64(w.count()))
	}
	if got.Load() != n {
		t.Fatalf("%d events reached their waiters, want %d", got.Load(), n)
	}
	if s := h.Stats(); s.Orphans != 0 {
		t.Fatalf("%d orphans left behind", s.Orphans)
	}
}

func TestAgingCompacts(t *testing.T) {
	a := newAging[int](time.Hour, 1<<20)
	now := time.Unix(0, 0)
	for i := range 100_000 {
		k := fmt.Sprint(i)
		a.put(k, i, now, false)
		a.take(k)
	}
	if len(a.fifo)-a.head > 5000 {
		t.Fatalf("fifo holds %d stale keys", len(a.fifo)-a.head)
	}
}

// A job that Create already reported final is settled without ever
// registering; the orphan its early event left must go with it, not hold
// a slot of a bounded buffer until it expires.
func TestSettleDropsOrphan(t *testing.T) {
	h, _ := newTestHub(Config{MaxOrphans: 1})
	if err := h.Deliver("batches/early", done); err != nil {
		t.Fatal(err)
	}
	h.Settle("batches/early", nil, "JOB_STATE_SUCCEEDED")
	if s := h.Stats(); s.Orphans != 0 || s.Tombstones != 1 {
		t.Fatalf("stats after Settle = %+v, want no orphan and 1 tombstone", s)
	}
	if err := h.Deliver("batches/next", done); err != nil {
		t.Fatalf("the settled job's orphan still fills the buffer: %v", err)
	}
}
