package gemhook

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gemhook/gemhook/internal/eventtype"
)

// DefaultFallbackUnreported is Fallback.Unreported's default: the pace of
// a typical polling loop.
const DefaultFallbackUnreported = 15 * time.Second

// subscriptions caches, once per Client, which job families the project's
// enabled webhooks report.
type subscriptions struct {
	mu       sync.Mutex
	known    bool
	failedAt time.Time // of the last listing that failed, by the Client's clock
	families [eventtype.Video + 1]bool
}

// listRetry spaces listings after one failed, so that jobs attached while
// the API fails do not queue one listing each behind the lock.
const listRetry = time.Minute

// expectsWebhook reports whether a webhook may report a job of kind k,
// one attached rather than created here: an enabled project webhook
// subscribes to its events. The project's webhooks are listed once per
// Client. A listing that fails expects none; it is tried again after
// listRetry, unless the failure is permanent (a key that may not list
// webhooks).
func (c *Client) expectsWebhook(ctx context.Context, k JobKind) bool {
	c.subs.mu.Lock()
	defer c.subs.mu.Unlock()
	if !c.subs.known {
		if !c.subs.failedAt.IsZero() && c.now().Sub(c.subs.failedAt) < listRetry {
			return false
		}
		lctx, cancel := context.WithTimeout(ctx, callTimeout)
		hooks, err := c.ListWebhooks(lctx)
		cancel()
		if err != nil {
			c.log.LogAttrs(ctx, slog.LevelInfo, "cannot list the project's webhooks to tell whether attached jobs will be reported",
				attrErr(err))
			c.subs.known, c.subs.failedAt = permanent(err), c.now()
			return false
		}
		c.subs.known = true
		for _, h := range hooks {
			if h.State != WebhookEnabled {
				continue
			}
			for _, e := range h.Events {
				c.subs.families[eventtype.FamilyOf(e)] = true
			}
		}
	}
	return c.subs.families[familyOf(k)]
}

// familyOf is the event family that reports jobs of kind k.
func familyOf(k JobKind) eventtype.Family {
	switch k {
	case KindBatch:
		return eventtype.Batch
	case KindVideos:
		return eventtype.Video
	case KindInteraction:
		return eventtype.Interaction
	}
	return eventtype.Unknown
}

// decidePace runs on an attached job's first check that finds it
// running: a job no webhook will report is polled from then on at
// Fallback.Unreported's pace, as the polling loop it replaces did, rather
// than waiting for the safety net.
func (w *watch[T]) decidePace(ctx context.Context) {
	if !w.attached {
		return
	}
	w.attached = false
	if !w.c.polling || w.c.expectsWebhook(ctx, w.kind.kind) {
		return
	}
	w.mu.Lock()
	w.unreported = true
	w.mu.Unlock()
	w.c.log.LogAttrs(ctx, slog.LevelInfo, "no webhook will report this attached job: polling it",
		slog.String("job", w.name), slog.Duration("every", w.c.unreported))
}

// schedulePollLocked schedules the next reconciliation poll.
func (w *watch[T]) schedulePollLocked() {
	if w.unreported {
		w.scheduleLocked(w.c.unreported, 0, true)
		return
	}
	w.scheduleLocked(w.c.after, w.c.every, true)
}
