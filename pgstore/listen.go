package pgstore

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// The listening connection's timing: how long it waits for a notification
// before checking that the server still answers, how long that check may
// take, and the bounds of the backoff between reconnects.
const (
	idleCheck   = 30 * time.Second
	pingTimeout = 5 * time.Second
	minBackoff  = 50 * time.Millisecond
	maxBackoff  = 5 * time.Second
)

// listenLoop keeps one dedicated connection LISTENing on the channel. It is
// not a pooled connection: a pool would hand it to other work, and a
// pooler in transaction mode would drop the LISTEN. After every LISTEN the
// subscribers resync, because notifications sent while no connection
// listened are gone.
func (s *Store) listenLoop(ctx context.Context) {
	defer s.wg.Done()
	backoff := minBackoff
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, func() { backoff = minBackoff })
		s.subs.lost()
		s.pid.Store(0)
		if ctx.Err() != nil {
			return
		}
		s.cfg.Logger.Warn("pgstore: listening connection lost; reconnecting", "schema", s.cfg.Schema, "err", err, "backoff", backoff)
		// Full jitter, so that replicas cut off together do not return together.
		t := time.NewTimer(backoff/2 + rand.N(backoff/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce connects, listens and relays notifications until the
// connection fails or ctx ends; up runs once LISTEN is in force.
func (s *Store) listenOnce(ctx context.Context, up func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.listen)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.cfg.Channel}.Sanitize()); err != nil {
		return err
	}
	s.pid.Store(conn.PgConn().PID())
	up()
	s.subs.established()
	for {
		wctx, cancel := context.WithTimeout(ctx, idleCheck)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			s.subs.hint(n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case wctx.Err() != nil && !conn.IsClosed():
			// Idle: a dead peer only shows when we ask it something.
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}
