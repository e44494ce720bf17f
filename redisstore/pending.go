package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/redis/go-redis/v9"
)

// The Pending index is a hint, like pub/sub: the job keys are the truth.
// Register and Settle cannot change a job's keys and an index entry in one
// script on Redis Cluster (they hash to different slots), so they update the
// index in the same round trip but outside the script, and Pending reads
// every registration the index names and lists only those that exist. The
// index is split into indexShards sorted sets, each with a hash tag of its
// own ({prefix:pending:NN}), so that on a cluster it spreads over the nodes
// instead of making one slot hot; Pending reads them all.
const indexShards = 16

// pendingBatch bounds the registrations Pending reads in one round trip.
const pendingBatch = 500

func (s *Store) shard(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return s.shardKey(int(h.Sum32() % indexShards))
}

func (s *Store) shardKey(n int) string {
	return fmt.Sprintf("{%s:pending:%02d}", s.cfg.Prefix, n)
}

// Pending lists the registered jobs that have not settled, oldest first by
// their Submitted time. On the way it drops index entries of jobs that have
// settled, and of registrations that expired (JobTTL) a day ago or more.
func (s *Store) Pending(ctx context.Context) ([]gemhook.PendingJob, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	ranges := make([]*redis.ZSliceCmd, indexShards)
	if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range ranges {
			ranges[i] = p.ZRangeWithScores(ctx, s.shardKey(i), 0, -1)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("redisstore: pending: %w", err)
	}
	type entry struct {
		key   string
		shard int
		score float64
	}
	var entries []entry
	for i, r := range ranges {
		for _, z := range r.Val() {
			if key, ok := z.Member.(string); ok {
				entries = append(entries, entry{key, i, z.Score})
			}
		}
	}
	// An entry without a registration belongs to a settled job, to an
	// expired registration, or (on a cluster) to a Register whose index
	// update ran before its script; only the first two are dropped.
	staleBefore := float64(time.Now().Add(-s.cfg.JobTTL - 24*time.Hour).UnixMilli())
	var jobs []gemhook.PendingJob
	for batch := range slices.Chunk(entries, pendingBatch) {
		gets := make([]*redis.StringCmd, len(batch))
		settled := make([]*redis.IntCmd, len(batch))
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, e := range batch {
				k := s.keys(e.key)
				gets[i] = p.Get(ctx, k.job())
				settled[i] = p.Exists(ctx, k.outcome())
			}
			return nil
		})
		if err != nil && err != redis.Nil {
			return nil, fmt.Errorf("redisstore: pending: %w", err)
		}
		var stale []entry
		for i, e := range batch {
			body, err := gets[i].Result()
			if err == redis.Nil {
				if settled[i].Val() == 1 || e.score < staleBefore {
					stale = append(stale, e)
				}
				continue
			}
			var job gemhook.PendingJob
			if err := json.Unmarshal([]byte(body), &job); err != nil {
				return nil, fmt.Errorf("redisstore: registration of %s: %w", e.key, err)
			}
			jobs = append(jobs, job)
		}
		if len(stale) > 0 {
			_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, e := range stale {
					p.ZRem(ctx, s.shardKey(e.shard), e.key)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("redisstore: pending: drop stale entries: %w", err)
			}
		}
	}
	slices.SortFunc(jobs, func(a, b gemhook.PendingJob) int {
		if c := a.Submitted.Compare(b.Submitted); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return jobs, nil
}
