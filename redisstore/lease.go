package redisstore

import (
	"context"
	"fmt"
	"time"
)

// Lease takes or renews owner's lease on polling key for ttl, on the
// server's clock (PX): one script, one round trip.
func (s *Store) Lease(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	if ttl < time.Millisecond {
		return false, fmt.Errorf("%w: lease TTL %v is under a millisecond", ErrInvalidTTL, ttl)
	}
	res, err := s.run(ctx, leaseScript, []string{s.keys(key).lease()}, []any{owner, ms(ttl)}, nil)
	if err != nil {
		return false, fmt.Errorf("redisstore: lease %s: %w", key, err)
	}
	held := res == int64(1)
	if held && ctx.Err() != nil {
		// The caller gave up while the server gave it the lease (go-redis
		// lets a command in flight finish): it will not poll, so hand the
		// lease back rather than leave the job unpolled until it expires.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		s.run(rctx, releaseScript, []string{s.keys(key).lease()}, []any{owner}, nil)
		cancel()
		return false, fmt.Errorf("redisstore: lease %s: %w", key, ctx.Err())
	}
	return held, nil
}

// releaseTimeout bounds handing back a lease that a cancelled Lease took.
const releaseTimeout = 2 * time.Second

// Release deletes owner's lease on key if owner still holds it.
func (s *Store) Release(ctx context.Context, key, owner string) error {
	if err := s.check(); err != nil {
		return err
	}
	if _, err := s.run(ctx, releaseScript, []string{s.keys(key).lease()}, []any{owner}, nil); err != nil {
		return fmt.Errorf("redisstore: release %s: %w", key, err)
	}
	return nil
}
