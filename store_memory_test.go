package gemhook

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/fakeclock"
)

// The MemoryStore passes storetest like every Store (storetest's own
// tests run it); these cases need its injected clock or its limits.

func newTestMemory(cfg MemoryStoreConfig) (*MemoryStore, *fakeclock.Clock) {
	c := fakeclock.New(time.Unix(1_700_000_000, 0))
	cfg.Now = c.Now
	return NewMemoryStore(cfg), c
}

var finished = JobEvent{Type: "batch.succeeded", Terminal: true}

func TestMemoryOrphansExpireAndBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := newTestMemory(MemoryStoreConfig{MaxOrphans: 2, EventTTL: time.Minute})
	for _, k := range []string{"batches/1", "batches/2"} {
		if _, err := s.Deliver(ctx, k, "id:"+k, finished); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Deliver(ctx, "batches/3", "id:3", finished); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("third orphan: %v, want ErrStoreFull", err)
	}
	// A refused event is not remembered as seen: its retry must be taken.
	clock.Advance(time.Minute + time.Second)
	if dup, err := s.Deliver(ctx, "batches/3", "id:3", finished); err != nil || dup {
		t.Fatalf("retry after expiry: dup=%v err=%v", dup, err)
	}
	if st := s.stats(); st.Orphans != 1 {
		t.Fatalf("stats = %+v, want only the retried orphan: the two before it expired", st)
	}
}

func TestMemoryOutcomesEvictOldestWhenFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := newTestMemory(MemoryStoreConfig{MaxOutcomes: 2})
	for _, k := range []string{"batches/1", "batches/2", "batches/3"} {
		if _, err := s.Settle(ctx, k, Outcome{State: "JOB_STATE_SUCCEEDED"}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	if rec, _ := s.Lookup(ctx, "batches/1"); rec.Outcome != nil {
		t.Fatal("the oldest outcome was kept past the bound")
	}
	if rec, _ := s.Lookup(ctx, "batches/3"); rec.Outcome == nil {
		t.Fatal("the newest outcome was dropped")
	}
}

// A job that Create already reported final is settled without ever
// registering; the event it left behind must go with it, not hold a slot
// of the bounded buffer until it expires.
func TestMemorySettleDropsOrphan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newTestMemory(MemoryStoreConfig{MaxOrphans: 1})
	if _, err := s.Deliver(ctx, "batches/early", "id:e", finished); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Settle(ctx, "batches/early", Outcome{State: "JOB_STATE_SUCCEEDED"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(ctx, "batches/next", "id:n", finished); err != nil {
		t.Fatalf("the settled job's event still fills the buffer: %v", err)
	}
}

func TestMemoryLeaseFollowsItsClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clock := newTestMemory(MemoryStoreConfig{})
	if ok, _ := s.Lease(ctx, "k", "a", time.Minute); !ok {
		t.Fatal("a free lease was refused")
	}
	if ok, _ := s.Lease(ctx, "k", "b", time.Minute); ok {
		t.Fatal("b took a's lease")
	}
	clock.Advance(time.Minute)
	if ok, _ := s.Lease(ctx, "k", "b", time.Minute); !ok {
		t.Fatal("an expired lease was refused")
	}
}

// BenchmarkTombstonesForADay settles a day of 1,000,000 jobs (one every
// 86.4 ms of a fake clock), each registered and then settled with a job of
// a few hundred bytes, and reports the heap the outcomes take and the
// bytes per outcome, once with room for the whole day and once with the
// default cap. A day must fit in 192 MiB. Run:
//
//	go test -run '^$' -bench TombstonesForADay -benchtime 1x .
func BenchmarkTombstonesForADay(b *testing.B) {
	const jobs = 1_000_000
	const every = 24 * time.Hour / jobs
	value := []byte(`{"name":"batches/x","displayName":"nightly","state":"JOB_STATE_SUCCEEDED","createTime":"2026-01-01T00:00:00Z","endTime":"2026-01-01T01:00:00Z","model":"models/gemini-3.5-flash","dest":{"fileName":"files/out"}}`)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		max  int
	}{{"room-for-a-day", jobs}, {"default-cap", 0}} {
		b.Run(c.name, func(b *testing.B) {
			var bytes float64
			var kept int
			for range b.N {
				s, clock := newTestMemory(MemoryStoreConfig{MaxOutcomes: c.max})
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := range jobs {
					key := fmt.Sprintf("batches/%024d", i)
					if _, err := s.Register(ctx, key, PendingJob{Name: key, Kind: KindBatch}); err != nil {
						b.Fatal(err)
					}
					if _, err := s.Settle(ctx, key, Outcome{State: "JOB_STATE_SUCCEEDED", Value: value}); err != nil {
						b.Fatal(err)
					}
					clock.Advance(every)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				kept = s.stats().Outcomes
				bytes = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				runtime.KeepAlive(s)
			}
			b.ReportMetric(float64(kept), "tombstones")
			b.ReportMetric(bytes/(1<<20), "MiB")
			b.ReportMetric(bytes/float64(kept), "B/tombstone")
			b.ReportMetric(float64(kept)*every.Hours(), "hours-remembered")
			if c.max == jobs && bytes > 192<<20 {
				b.Errorf("a day of tombstones takes %.0f MiB", bytes/(1<<20))
			}
		})
	}
}

// memoryStats is what tests and benchmarks read of a MemoryStore.
type memoryStats struct {
	Jobs, Orphans, Outcomes, IDs int
}

func (s *MemoryStore) stats() memoryStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.cfg.Now())
	return memoryStats{Jobs: s.jobs.Len(), Orphans: s.orphans.Len(), Outcomes: s.outcomes.Len(),
		IDs: s.ids.Len()}
}
