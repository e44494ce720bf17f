package pgstore

import (
	"context"
	"fmt"
	"time"
)

// sweepBatch bounds the rows one sweep deletes per table, so that a sweep
// after a long pause stays a short transaction.
const sweepBatch = 10000

// sweepTables are the tables whose expired rows the sweep deletes.
var sweepTables = []string{"dedupe", "events", "jobs", "outcomes", "leases"}

func (s *Store) sweepLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("pgstore: sweeping expired rows", "schema", s.cfg.Schema, "err", err)
		}
	}
}

// sweep deletes expired rows unless another replica is sweeping the same
// schema now; it returns how many rows it deleted, or -1 when another
// replica holds the sweep. The lock is a transaction's, so
// it is released at commit and works through a transaction pooler.
func (s *Store) sweep(ctx context.Context) (deleted int64, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return -1, fmt.Errorf("pgstore: sweep: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var mine bool
	if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_xact_lock($1)", s.locks.sweep).Scan(&mine); err != nil {
		return -1, fmt.Errorf("pgstore: sweep: %w", err)
	}
	if !mine {
		return -1, nil
	}
	for _, tbl := range sweepTables {
		tag, err := tx.Exec(ctx, "DELETE FROM "+s.name(tbl)+" WHERE ctid IN (SELECT ctid FROM "+s.name(tbl)+
			" WHERE expires_at <= now() LIMIT $1)", sweepBatch)
		if err != nil {
			return -1, fmt.Errorf("pgstore: sweep %s: %w", tbl, err)
		}
		deleted += tag.RowsAffected()
	}
	if err := tx.Commit(ctx); err != nil {
		return -1, fmt.Errorf("pgstore: sweep: %w", err)
	}
	return deleted, nil
}
