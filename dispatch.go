package gemhook

import (
	"context"
	"time"
)

// routing connects verified events to the Clients waiting on their jobs.
// (Scaffold: replaced by the client/hub work.)
type routing struct{}

func (rt *routing) init(now func() time.Time) {}
func (rt *routing) close()                    {}

// dispatch hands one verified, not yet seen event to whoever waits for its
// job. An error means the event could not be taken now (for example the
// orphan buffer is full) and the sender should retry.
func (r *Receiver) dispatch(ctx context.Context, ev *Event) error { return nil }
