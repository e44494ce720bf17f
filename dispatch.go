package gemhook

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gemhook/gemhook/internal/hub"
)

// routing connects verified events to the Clients waiting on their jobs:
// one hub per Receiver, shared by every Client built on it.
type routing struct {
	hub jobHub
}

// jobHub is what Receivers and Clients use of the hub. Only the in-memory
// hub exists today; keeping it behind this interface lets a shared store
// and bus (several replicas behind one webhook URL) replace it without a
// change to the public API.
type jobHub interface {
	Register(key string, w hub.Waiter) (hub.Note, bool)
	Unregister(key string, w hub.Waiter)
	Settle(key string, w hub.Waiter, outcome string)
	Deliver(key string, n hub.Note) error
	Stats() hub.Stats
}

var _ jobHub = (*hub.Hub)(nil)

func (rt *routing) init(now func() time.Time) { rt.hub = hub.New(hub.Config{Now: now}) }

// close leaves the hub as it is: a closed Receiver answers 503 before
// dispatch, and Clients still settle their jobs by polling.
func (rt *routing) close() {}

// errOrphansFull is returned by dispatch when an event for a job not
// registered yet cannot be kept; the Receiver answers 503 and Gemini retries.
var errOrphansFull = errors.New("gemhook: too many events for unknown jobs; retry later")

// dispatch hands one verified event to whoever waits for its job. It never
// blocks on the network: waking a job only queues its confirming get. An
// error means the event could not be taken now and the sender should retry.
func (r *Receiver) dispatch(_ context.Context, ev *Event) error {
	key, terminal, ok := eventKey(ev)
	if !ok {
		return nil
	}
	n := hub.Note{
		Type:     ev.Type,
		Terminal: terminal,
		Token:    ev.token(),
		Code:     ev.Data.ErrorCode,
		Message:  ev.Data.ErrorMessage,
	}
	if err := r.routes.hub.Deliver(key, n); err != nil {
		return errOrphansFull
	}
	return nil
}

// eventKey maps an event to the hub key of its job, and says whether the
// event claims the job has settled. Events of unknown families are not
// routed; unknown types of known families only wake a waiting job, which
// then asks the API.
func eventKey(ev *Event) (key string, terminal bool, ok bool) {
	if ev.Resource == "" {
		return "", false, false
	}
	family, _, _ := strings.Cut(ev.Type, ".")
	switch family {
	case "batch":
		if !strings.HasPrefix(ev.Resource, "batches/") {
			return "", false, false
		}
		key = ev.Resource
	case "interaction":
		if !strings.HasPrefix(ev.Resource, "interactions/") {
			return "", false, false
		}
		key = ev.Resource
	case "video":
		key = videoKey(ev.Resource)
	default:
		return "", false, false
	}
	switch ev.Type {
	case "batch.succeeded", "batch.failed", "batch.expired", "batch.cancelled",
		"video.generated",
		"interaction.completed", "interaction.failed", "interaction.cancelled", "interaction.requires_action":
		terminal = true
	}
	return key, terminal, true
}
