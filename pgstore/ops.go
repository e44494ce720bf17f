package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/jackc/pgx/v5"
)

// Register implements gemhook.Store.
func (s *Store) Register(ctx context.Context, key string, job gemhook.PendingJob) (gemhook.JobRecord, error) {
	if err := s.check(key); err != nil {
		return gemhook.JobRecord{}, err
	}
	var meta []byte
	if job.Metadata != nil {
		var err error
		if meta, err = json.Marshal(job.Metadata); err != nil {
			return gemhook.JobRecord{}, fmt.Errorf("pgstore: register %q: metadata: %w", key, err)
		}
	}
	rec, err := s.record(ctx,
		"SELECT * FROM "+s.name("register")+"($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		key, job.Name, string(job.Kind), job.Token, job.Submitted, job.Submitted.Nanosecond()%1000, meta, job.Trace, micros(s.cfg.JobTTL))
	if err != nil {
		return rec, fmt.Errorf("pgstore: register %q: %w", key, err)
	}
	return rec, nil
}

// Lookup implements gemhook.Store.
func (s *Store) Lookup(ctx context.Context, key string) (gemhook.JobRecord, error) {
	if err := s.check(key); err != nil {
		return gemhook.JobRecord{}, err
	}
	rec, err := s.record(ctx, "SELECT * FROM "+s.name("job_record")+"($1)", key)
	if err != nil {
		return rec, fmt.Errorf("pgstore: lookup %q: %w", key, err)
	}
	return rec, nil
}

// record runs a query that returns one row of job_record.
func (s *Store) record(ctx context.Context, sql string, args ...any) (gemhook.JobRecord, error) {
	var (
		rec                  gemhook.JobRecord
		job                  pendingRow
		events               []byte
		state, code, message *string
		value                []byte
	)
	err := s.pool.QueryRow(ctx, sql, args...).Scan(
		&job.name, &job.kind, &job.token, &job.submitted, &job.nanos, &job.meta, &job.trace,
		&events, &state, &code, &message, &value)
	if err != nil {
		return rec, err
	}
	if job.name != nil {
		if rec.Job, err = job.decode(); err != nil {
			return rec, err
		}
	}
	if events != nil {
		if err := json.Unmarshal(events, &rec.Events); err != nil {
			return rec, fmt.Errorf("events: %w", err)
		}
	}
	if state != nil {
		rec.Outcome = &gemhook.Outcome{State: *state, Code: *code, Message: *message, Value: value}
	}
	return rec, nil
}

// Settle implements gemhook.Store: first wins, in one transaction.
func (s *Store) Settle(ctx context.Context, key string, o gemhook.Outcome) (gemhook.Outcome, error) {
	if err := s.check(key); err != nil {
		return gemhook.Outcome{}, err
	}
	var won gemhook.Outcome
	err := s.pool.QueryRow(ctx,
		"SELECT * FROM "+s.name("settle")+"($1, $2, $3, $4, $5, $6, $7)",
		key, o.State, o.Code, o.Message, o.Value, micros(s.cfg.OutcomeTTL), s.cfg.Channel,
	).Scan(&won.State, &won.Code, &won.Message, &won.Value)
	if err != nil {
		return gemhook.Outcome{}, fmt.Errorf("pgstore: settle %q: %w", key, err)
	}
	return won, nil
}

// Lease implements gemhook.Store on the database's clock: the row is taken
// when it is free, expired, or already owner's.
func (s *Store) Lease(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if err := s.check(key); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, fmt.Errorf("%w: %v", ErrInvalidTTL, ttl)
	}
	var got bool
	err := s.pool.QueryRow(ctx, "SELECT "+s.name("lease")+"($1, $2, $3)", key, owner, max(micros(ttl), 1)).Scan(&got)
	if err != nil {
		return false, fmt.Errorf("pgstore: lease %q: %w", key, err)
	}
	return got, nil
}

// Release implements gemhook.Store.
func (s *Store) Release(ctx context.Context, key, owner string) error {
	if err := s.check(key); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, "SELECT "+s.name("release")+"($1, $2)", key, owner)
	if err != nil {
		return fmt.Errorf("pgstore: release %q: %w", key, err)
	}
	return nil
}

// Pending implements gemhook.Store.
func (s *Store) Pending(ctx context.Context) ([]gemhook.PendingJob, error) {
	if err := s.check(""); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT j.name, j.kind, j.token, j.submitted, j.submitted_ns, j.metadata, j.trace
		FROM `+s.name("jobs")+` j
		WHERE j.expires_at > now() AND NOT EXISTS (
			SELECT 1 FROM `+s.name("outcomes")+` o WHERE o.key = j.key AND o.expires_at > now())
		ORDER BY j.submitted, j.submitted_ns, j.seq`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: pending: %w", err)
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gemhook.PendingJob, error) {
		var job pendingRow
		if err := r.Scan(&job.name, &job.kind, &job.token, &job.submitted, &job.nanos, &job.meta, &job.trace); err != nil {
			return gemhook.PendingJob{}, err
		}
		p, err := job.decode()
		if err != nil {
			return gemhook.PendingJob{}, err
		}
		return *p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: pending: %w", err)
	}
	return jobs, nil
}

// pendingRow is a row of jobs as read; name is nil when there is none.
type pendingRow struct {
	name, kind, token *string
	submitted         *time.Time
	nanos             *int32
	meta              []byte
	trace             *string
}

func (r pendingRow) decode() (*gemhook.PendingJob, error) {
	job := &gemhook.PendingJob{
		Name: *r.name, Kind: gemhook.JobKind(*r.kind), Token: *r.token,
		Submitted: r.submitted.Add(time.Duration(*r.nanos)),
	}
	if r.trace != nil {
		job.Trace = *r.trace
	}
	if r.meta != nil {
		if err := json.Unmarshal(r.meta, &job.Metadata); err != nil {
			return nil, fmt.Errorf("metadata of %s: %w", job.Name, err)
		}
	}
	return job, nil
}
