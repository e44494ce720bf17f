package gemhook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gemhook/gemhook/internal/eventtype"
)

// errStore wraps a Store's refusal of an event; the Receiver answers 503
// and Gemini retries, so the event is not lost.
var errStore = errors.New("gemhook: store did not take the event; retry later")

// errDuplicate is dispatch's word for a delivery the Store has seen
// before, on any replica: it is acknowledged, and OnEvent does not run.
var errDuplicate = errors.New("gemhook: duplicate delivery")

// dispatch records one verified event in the Store, which hints every
// replica whose jobs wait for it; the woken jobs read it from there. It
// never waits on Gemini. dedupe is ev.DedupeKey(), which the caller has
// already built. An error other than errDuplicate means the event was not
// taken and the sender should retry.
func (r *Receiver) dispatch(ctx context.Context, ev *Event, dedupe string) error {
	key, terminal, ok := eventKey(ev)
	if !ok {
		return nil
	}
	je := JobEvent{
		Type:     ev.Type,
		Terminal: terminal,
		Token:    ev.token(),
		Code:     ev.Data.ErrorCode,
		Message:  ev.Data.ErrorMessage,
		Signer:   ev.signer,
	}
	dup, err := r.store.Deliver(ctx, key, dedupe, je)
	switch {
	case err != nil:
		r.tel.storeError(ctx)
		return fmt.Errorf("%w: %w", errStore, err)
	case dup:
		return errDuplicate
	}
	return nil
}

// eventKey maps an event to the routing key of its job, and says whether
// the event claims the job has settled. Events of unknown families are not
// routed; unknown types of known families only wake a waiting job, which
// then asks the API.
func eventKey(ev *Event) (key string, terminal bool, ok bool) {
	if ev.Resource == "" {
		return "", false, false
	}
	// A listed type knows its family; only others need their prefix read.
	t, known := eventtype.Lookup(ev.Type)
	if !known {
		t.Family = eventtype.FamilyOf(ev.Type)
	}
	switch t.Family {
	case eventtype.Batch:
		if !strings.HasPrefix(ev.Resource, "batches/") {
			return "", false, false
		}
		key = ev.Resource
	case eventtype.Interaction:
		if !strings.HasPrefix(ev.Resource, "interactions/") {
			return "", false, false
		}
		key = ev.Resource
	case eventtype.Video:
		key = videoKey(ev.Resource)
	default:
		return "", false, false
	}
	return key, t.Terminal, true
}

// videoKey keys an operation by its id alone: video.generated events may
// name it in full or by the bare id.
func videoKey(name string) string {
	return "operations/" + name[strings.LastIndexByte(name, '/')+1:]
}
