package redisstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gemhook/gemhook"
	"github.com/redis/go-redis/v9"
)

// Deliver reports a duplicate, and does nothing else, if id was seen for key
// within DedupeTTL. Otherwise it keeps ev unless key has settled, ev is
// progress (not terminal) of a job nobody registered, or key keeps an event
// with ev's token, signer and terminality (or maxEvents of them) already, and
// publishes key on the hint channel either way: one script, one round trip.
func (s *Store) Deliver(ctx context.Context, key, id string, ev gemhook.JobEvent) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("redisstore: deliver %s: %w", key, err)
	}
	k := s.keys(key)
	keys := k.record()
	if id != "" {
		keys = append(keys, k.id(id))
	}
	terminal := "0"
	if ev.Terminal {
		terminal = "1"
	}
	res, err := s.run(ctx, deliverScript, keys, []any{
		body, ev.Token, terminal, ms(s.cfg.DedupeTTL), ms(s.cfg.EventTTL), maxEvents, s.cfg.Channel, key, ev.Signer,
	}, nil)
	if err != nil {
		return false, fmt.Errorf("redisstore: deliver %s: %w", key, err)
	}
	return res == int64(1), nil
}

// Register records job as pending under key (the first registration stays)
// unless key has settled, and adds key to its Pending index shard in the
// same round trip.
func (s *Store) Register(ctx context.Context, key string, job gemhook.PendingJob) (gemhook.JobRecord, error) {
	if err := s.check(); err != nil {
		return gemhook.JobRecord{}, err
	}
	body, err := json.Marshal(job)
	if err != nil {
		return gemhook.JobRecord{}, fmt.Errorf("redisstore: register %s: %w", key, err)
	}
	res, err := s.run(ctx, registerScript, s.keys(key).record(), []any{body, ms(s.cfg.JobTTL)},
		func(p redis.Pipeliner) {
			p.ZAddNX(ctx, s.shard(key), redis.Z{Score: float64(job.Submitted.UnixMilli()), Member: key})
		})
	if err != nil {
		return gemhook.JobRecord{}, fmt.Errorf("redisstore: register %s: %w", key, err)
	}
	return decodeRecord(key, res)
}

// Lookup reads key's registration, events and outcome in one script.
func (s *Store) Lookup(ctx context.Context, key string) (gemhook.JobRecord, error) {
	if err := s.check(); err != nil {
		return gemhook.JobRecord{}, err
	}
	res, err := s.run(ctx, lookupScript, s.keys(key).record(), nil, nil)
	if err != nil {
		return gemhook.JobRecord{}, fmt.Errorf("redisstore: lookup %s: %w", key, err)
	}
	return decodeRecord(key, res)
}

// Settle records o as key's outcome unless one holds, drops its registration
// and events, publishes key, and removes key from its Pending index shard in
// the same round trip.
func (s *Store) Settle(ctx context.Context, key string, o gemhook.Outcome) (gemhook.Outcome, error) {
	if err := s.check(); err != nil {
		return gemhook.Outcome{}, err
	}
	body, err := json.Marshal(o)
	if err != nil {
		return gemhook.Outcome{}, fmt.Errorf("redisstore: settle %s: %w", key, err)
	}
	res, err := s.run(ctx, settleScript, s.keys(key).record(), []any{body, ms(s.cfg.OutcomeTTL), s.cfg.Channel, key},
		func(p redis.Pipeliner) { p.ZRem(ctx, s.shard(key), key) })
	if err != nil {
		return gemhook.Outcome{}, fmt.Errorf("redisstore: settle %s: %w", key, err)
	}
	held, ok := res.(string)
	if !ok {
		return gemhook.Outcome{}, fmt.Errorf("redisstore: settle %s: unexpected reply %T", key, res)
	}
	var out gemhook.Outcome
	if err := json.Unmarshal([]byte(held), &out); err != nil {
		return gemhook.Outcome{}, fmt.Errorf("redisstore: settle %s: outcome: %w", key, err)
	}
	return out, nil
}

// decodeRecord reads a {job, events, outcome} script reply. A missing value
// is nil in RESP2 and false in RESP3.
func decodeRecord(key string, res any) (gemhook.JobRecord, error) {
	var rec gemhook.JobRecord
	parts, ok := res.([]any)
	if !ok || len(parts) != 3 {
		return rec, fmt.Errorf("redisstore: record of %s: unexpected reply %T", key, res)
	}
	if job, ok := parts[0].(string); ok {
		rec.Job = new(gemhook.PendingJob)
		if err := json.Unmarshal([]byte(job), rec.Job); err != nil {
			return gemhook.JobRecord{}, fmt.Errorf("redisstore: registration of %s: %w", key, err)
		}
	}
	evs, _ := parts[1].([]any)
	for _, e := range evs {
		s, ok := e.(string)
		if !ok {
			return gemhook.JobRecord{}, fmt.Errorf("redisstore: event of %s: unexpected reply %T", key, e)
		}
		var ev gemhook.JobEvent
		if err := json.Unmarshal([]byte(s), &ev); err != nil {
			return gemhook.JobRecord{}, fmt.Errorf("redisstore: event of %s: %w", key, err)
		}
		rec.Events = append(rec.Events, ev)
	}
	if out, ok := parts[2].(string); ok {
		rec.Outcome = new(gemhook.Outcome)
		if err := json.Unmarshal([]byte(out), rec.Outcome); err != nil {
			return gemhook.JobRecord{}, fmt.Errorf("redisstore: outcome of %s: %w", key, err)
		}
	}
	return rec, nil
}
