package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/redis/go-redis/v9"
)

func TestPending(t *testing.T) {
	e := newEnv(t)
	a, b := e.open(t, Config{}), e.open(t, Config{})
	ctx := context.Background()
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	// 40 jobs spread over the shards, registered newest first.
	var want []string
	for i := 39; i >= 0; i-- {
		key := fmt.Sprintf("batches/p%02d", i)
		job := gemhook.PendingJob{Name: key, Kind: gemhook.KindBatch, Token: "tok", Submitted: t0.Add(time.Duration(i) * time.Second),
			Metadata: map[string]any{"tenant": "acme"}}
		if _, err := a.Register(ctx, key, job); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		key := fmt.Sprintf("batches/p%02d", i)
		if i%3 == 0 {
			if _, err := b.Settle(ctx, key, gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want = append(want, key)
	}
	// A later registration changes nothing.
	if _, err := b.Register(ctx, "batches/p01", gemhook.PendingJob{Name: "other", Submitted: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	jobs, err := b.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(want) {
		t.Fatalf("%d pending, want %d", len(jobs), len(want))
	}
	for i, j := range jobs {
		if j.Name != want[i] || j.Kind != gemhook.KindBatch || j.Token != "tok" || j.Metadata["tenant"] != "acme" {
			t.Errorf("pending[%d] = %+v, want %s", i, j, want[i])
		}
	}
	used := map[string]bool{}
	for _, j := range jobs {
		used[a.shard(j.Name)] = true
	}
	if len(used) < 4 {
		t.Errorf("40 jobs in %d index shards", len(used))
	}
}

// Index entries without a registration: a settled job's and an expired
// one's are dropped; a fresh one (a Register whose index update ran first,
// on a cluster) is kept but not listed.
func TestPendingStaleEntries(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, Config{})
	ctx := context.Background()
	now := time.Now()
	add := func(key string, at time.Time) {
		t.Helper()
		if err := e.admin.ZAdd(ctx, s.shard(key), redis.Z{Score: float64(at.UnixMilli()), Member: key}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Settle(ctx, "batches/settled", gemhook.Outcome{State: "JOB_STATE_FAILED"}); err != nil {
		t.Fatal(err)
	}
	add("batches/settled", now)
	add("batches/expired", now.Add(-s.cfg.JobTTL-25*time.Hour))
	add("batches/racing", now)
	if _, err := s.Register(ctx, "batches/live", gemhook.PendingJob{Name: "batches/live", Submitted: now}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].Name != "batches/live" {
		t.Fatalf("pending: %+v, want batches/live alone", jobs)
	}
	for key, kept := range map[string]bool{"batches/settled": false, "batches/expired": false, "batches/racing": true, "batches/live": true} {
		err := e.admin.ZScore(ctx, s.shard(key), key).Err()
		if got := err == nil; got != kept {
			t.Errorf("index entry of %s kept: %v, want %v (%v)", key, got, kept, err)
		}
	}
}
