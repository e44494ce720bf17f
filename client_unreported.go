package gemhook

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultFallbackUnreported is Fallback.Unreported's default: the pace of
// a typical polling loop.
const DefaultFallbackUnreported = 15 * time.Second

// subscriptions caches, once per Client, which job families the project's
// enabled webhooks report.
type subscriptions struct {
	mu       sync.Mutex
	known    bool
	families map[string]bool // "batch", "video", "interaction"
}

// expectsWebhook reports whether a webhook may report job, one attached
// rather than created here: an enabled project webhook subscribes to its
// events. The project's webhooks are listed once per Client. A listing
// that fails expects none, and is retried by the next attached job unless
// the failure is permanent (a key that may not list webhooks).
func (c *Client) expectsWebhook(ctx context.Context, job string) bool {
	c.subs.mu.Lock()
	defer c.subs.mu.Unlock()
	if !c.subs.known {
		lctx, cancel := context.WithTimeout(ctx, callTimeout)
		hooks, err := c.ListWebhooks(lctx)
		cancel()
		if err != nil {
			c.log.LogAttrs(ctx, slog.LevelInfo, "cannot list the project's webhooks to tell whether attached jobs will be reported",
				attrErr(err))
			c.subs.known = permanent(err)
			return false
		}
		c.subs.known, c.subs.families = true, make(map[string]bool)
		for _, h := range hooks {
			if h.State != WebhookEnabled {
				continue
			}
			for _, e := range h.Events {
				family, _, _ := strings.Cut(e, ".")
				c.subs.families[family] = true
			}
		}
	}
	return c.subs.families[jobFamily(job)]
}

// jobFamily is the event family of a job name: batch.*, video.* or
// interaction.*.
func jobFamily(name string) string {
	switch {
	case strings.HasPrefix(name, "batches/"):
		return "batch"
	case strings.HasPrefix(name, "interactions/"):
		return "interaction"
	case strings.Contains(name, "/operations/"):
		return "video"
	}
	return ""
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
	if !w.c.polling || w.c.expectsWebhook(ctx, w.name) {
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
