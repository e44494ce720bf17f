package redisstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// hintBuffer is how many hints go-redis holds for a slow subscriber; past
// it go-redis drops messages after a while, which a hint may be.
const hintBuffer = 1024

// subscription is one Subscribe: a PubSub of its own and the goroutine that
// reads it.
type subscription struct {
	s       *Store
	ps      *redis.PubSub
	cancel  context.CancelFunc
	stopped atomic.Bool
	once    sync.Once
	done    chan struct{}

	serverID string // run_ids at the last subscription; only run touches it
}

// Subscribe opens a PubSub on the hint channel and calls hint with each key
// published there, and resync after every confirmation of the subscription:
// the first, and each one go-redis gets when it resubscribes after a lost
// connection (its health check pings every few seconds). It does not block.
// Hints are at-most-once: those published while the connection is down are
// lost, which is why resync follows every (re)subscription.
//
// A resubscription to a server whose run_id has changed (it restarted)
// passes lost to resync: without persistence it forgot every key, and
// even with it, the writes of its last second or so may be gone.
func (s *Store) Subscribe(hint func(key string), resync func(lost bool)) (stop func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	sub := &subscription{
		s:      s,
		ps:     s.client.Subscribe(ctx), // no channel yet: no I/O here
		cancel: cancel,
		done:   make(chan struct{}),
	}
	s.subs[sub] = struct{}{}
	go sub.run(ctx, hint, resync)
	return sub.stop
}

func (sub *subscription) run(ctx context.Context, hint func(string), resync func(lost bool)) {
	defer close(sub.done)
	// A failed first SUBSCRIBE is retried by the PubSub's own reconnects:
	// it remembers the channel.
	_ = sub.ps.Subscribe(ctx, sub.s.cfg.Channel)
	// The channel is closed once the PubSub is closed; read it to the end
	// so that go-redis's goroutine never blocks on it.
	for m := range sub.ps.ChannelWithSubscriptions(redis.WithChannelSize(hintBuffer)) {
		if sub.stopped.Load() {
			continue
		}
		switch m := m.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				resync(sub.restarted(ctx))
			}
		case *redis.Message:
			hint(m.Payload)
		}
	}
}

// stop ends the subscription and waits until neither callback runs. It must
// not be called from inside hint or resync.
func (sub *subscription) stop() {
	sub.once.Do(func() {
		sub.stopped.Store(true)
		sub.cancel()
		sub.ps.Close()
		<-sub.done
		sub.s.mu.Lock()
		delete(sub.s.subs, sub)
		sub.s.mu.Unlock()
	})
}

// restarted reports whether the server behind the store is not the one the
// subscription last saw. An id that cannot be read counts as unchanged:
// the next resubscription compares again.
func (sub *subscription) restarted(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	id, err := sub.s.serverID(ctx)
	if err != nil || id == "" {
		return false
	}
	lost := sub.serverID != "" && sub.serverID != id
	sub.serverID = id
	return lost
}

// serverID names the servers behind the store by their run_ids, which
// change on every restart.
func (s *Store) serverID(ctx context.Context) (string, error) {
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return runID(ctx, s.client)
	}
	var mu sync.Mutex
	var ids []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		id, err := runID(ctx, c)
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
		return err
	})
	slices.Sort(ids)
	return strings.Join(ids, ","), err
}

func runID(ctx context.Context, c redis.Cmdable) (string, error) {
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return v, nil
		}
	}
	return "", errors.New("redisstore: INFO server has no run_id")
}
