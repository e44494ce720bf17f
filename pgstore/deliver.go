package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/jackc/pgx/v5"
)

// Deliveries that arrive together are written together: every transaction
// that notifies holds PostgreSQL's notification queue lock until its commit
// is flushed, so one delivery per transaction would cap a server at one
// commit flush per delivery. A batch is one transaction, one flush and one
// round trip, and each of its deliveries is answered only after the commit.
// One writer per replica: notifying commits are serialised by the server
// anyway, and while one batch commits the next one gathers.
const (
	maxBatch       = 64
	deliverWorkers = 1
	batchTimeout   = 30 * time.Second
)

type delivery struct {
	key, id string
	ev      gemhook.JobEvent
	ctx     context.Context
	done    chan deliveryResult // capacity 1: the worker never waits
}

type deliveryResult struct {
	duplicate bool
	err       error
}

// Deliver implements gemhook.Store: dedupe, the outcome check, keeping the
// event and the hint (sent at commit) are one transaction, shared with the
// deliveries that arrive at the same time.
func (s *Store) Deliver(ctx context.Context, key, id string, ev gemhook.JobEvent) (bool, error) {
	if err := s.check(key); err != nil {
		return false, err
	}
	d := &delivery{key: key, id: id, ev: ev, ctx: ctx, done: make(chan deliveryResult, 1)}
	select {
	case s.deliveries <- d:
	case <-ctx.Done():
		return false, fmt.Errorf("pgstore: deliver %q: %w", key, ctx.Err())
	case <-s.stopped:
		return false, errClosed
	}
	select {
	case r := <-d.done:
		return r.duplicate, r.err
	case <-ctx.Done():
		// The write may still commit; the sender's retry is then a duplicate.
		return false, fmt.Errorf("pgstore: deliver %q: %w", key, ctx.Err())
	case <-s.stopped:
		return false, errClosed
	}
}

// deliverLoop takes a delivery, and with it every other one waiting, and
// writes them in one transaction.
func (s *Store) deliverLoop(ctx context.Context) {
	defer s.wg.Done()
	batch := make([]*delivery, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			s.drainDeliveries()
			return
		case d := <-s.deliveries:
			batch = append(batch, d)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case d := <-s.deliveries:
				batch = append(batch, d)
			default:
				break more
			}
		}
		s.deliverBatch(ctx, batch)
	}
}

// drainDeliveries fails what was queued when the store closed.
func (s *Store) drainDeliveries() {
	for {
		select {
		case d := <-s.deliveries:
			d.done <- deliveryResult{err: errClosed}
		default:
			return
		}
	}
}

func (s *Store) deliverBatch(ctx context.Context, batch []*delivery) {
	live := make([]*delivery, 0, len(batch))
	for _, d := range batch {
		if err := d.ctx.Err(); err != nil {
			d.done <- deliveryResult{err: fmt.Errorf("pgstore: deliver %q: %w", d.key, err)}
			continue
		}
		live = append(live, d)
	}
	if len(live) == 0 {
		return
	}
	// Per-key locks in one order, so that two batches never wait on each
	// other in a cycle.
	slices.SortStableFunc(live, func(a, b *delivery) int { return cmp.Compare(a.key, b.key) })
	bctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	res, err := s.deliverTx(bctx, live)
	if err != nil && len(live) > 1 {
		// One bad delivery must not fail the others: each on its own.
		for _, d := range live {
			r, err := s.deliverTx(bctx, []*delivery{d})
			if err != nil {
				d.done <- deliveryResult{err: err}
				continue
			}
			d.done <- deliveryResult{duplicate: r[0]}
		}
		return
	}
	for i, d := range live {
		if err != nil {
			d.done <- deliveryResult{err: err}
			continue
		}
		d.done <- deliveryResult{duplicate: res[i]}
	}
}

// deliverTx writes ds in one implicit transaction (a pipeline with one
// sync) and reports which were duplicates.
func (s *Store) deliverTx(ctx context.Context, ds []*delivery) ([]bool, error) {
	sql := "SELECT " + s.name("deliver") + "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
	var b pgx.Batch
	for _, d := range ds {
		b.Queue(sql, d.key, d.id, d.ev.Type, d.ev.Terminal, d.ev.Token, d.ev.Signer, d.ev.Code, d.ev.Message,
			micros(s.cfg.DedupeTTL), micros(s.cfg.EventTTL), s.cfg.Channel)
	}
	br := s.pool.SendBatch(ctx, &b)
	dup := make([]bool, len(ds))
	var err error
	for i, d := range ds {
		var res string
		if err = br.QueryRow().Scan(&res); err != nil {
			err = fmt.Errorf("pgstore: deliver %q: %w", d.key, err)
			break
		}
		dup[i] = res == "duplicate"
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("pgstore: deliver: %w", cerr)
	}
	if err != nil {
		return nil, err
	}
	return dup, nil
}
