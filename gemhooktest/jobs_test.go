package gemhooktest

import (
	"errors"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// Jobs end after JobDuration by themselves.
func TestJobDuration(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := NewServer(Options{JobDuration: 5 * time.Millisecond})
	defer s.Close()
	c := newClient(t, s)
	name := createBatches(t, c, 1)[0]
	waitFor(t, func() bool { info, _ := s.Job(name); return info.Outcome == Succeeded })
	info, _ := s.Job(name)
	if info.Ended.Sub(info.Created) < 5*time.Millisecond || info.State != "BATCH_STATE_SUCCEEDED" {
		t.Fatalf("job %+v", info)
	}
	if err := s.Finish("batches/none", Failed); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("Finish of an unknown job: %v", err)
	}
	if err := s.Finish(name, RequiresAction); !errors.Is(err, ErrBadOutcome) {
		t.Fatalf("requires_action for a batch: %v", err)
	}
}
