package gemhook

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// TestEndToEndUnderQuirks runs a handful of jobs of every kind, half with a
// per-request webhook and half through the project webhook, against the
// emulator reproducing each known quirk of the real API (DESIGN §3). The
// fallback poll is off, so every job must settle by its webhook; only where
// the API sends no cancellation events does the poll settle those jobs.
func TestEndToEndUnderQuirks(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	for _, tc := range []struct {
		name  string
		opts  gemhooktest.Options
		check func(t *testing.T, s *stack)
	}{
		{"batch metadata refused (go-genai 779)", gemhooktest.Options{RefuseBatchMetadata: true}, func(t *testing.T, s *stack) {
			if !s.c.batchMetadataRefused.Load() {
				t.Error("the refusal was never met")
			}
		}},
		{"video_uri only", gemhooktest.Options{VideoFileField: gemhooktest.VideoURIOnly}, nil},
		{"output_file_uri only", gemhooktest.Options{VideoFileField: gemhooktest.OutputFileURIOnly}, nil},
		{"user_metadata in data", gemhooktest.Options{MetadataInData: true}, nil},
		{"bare ids", gemhooktest.Options{BareIDs: true}, nil},
		{"no cancellations", gemhooktest.Options{RefuseCancelSubscriptions: true, NoCancelEvents: true, Outcome: cancelAll}, func(t *testing.T, s *stack) {
			for _, h := range s.emu.Webhooks() {
				for _, e := range h.Events {
					if strings.HasSuffix(e, ".cancelled") {
						t.Errorf("webhook %s subscribed to %s", h.ID, e)
					}
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.JobDuration, o.Seed = 5*time.Millisecond, 11
			if o.Outcome == nil {
				o.Outcome = gemhooktest.MixedOutcome
			}
			fb := Fallback{Disabled: true}
			if o.NoCancelEvents {
				fb = Fallback{After: 50 * time.Millisecond, Every: 100 * time.Millisecond}
			}
			s := newStack(t, o, Config{Fallback: fb})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			perRequest := []SubmitOption{WithWebhookURL(s.hooks.URL + "/hook")}
			runJobs(ctx, t, s, 8, 4, 4, func(i int) []SubmitOption {
				if i%2 == 0 {
					return perRequest
				}
				return nil
			})
			if tc.check != nil {
				tc.check(t, s)
			}
			s.close()
		})
	}
}

// cancelAll cancels every job that can be cancelled (videos cannot).
func cancelAll(name string) string {
	if strings.Contains(name, "/operations/") {
		return gemhooktest.Succeeded
	}
	return gemhooktest.Cancelled
}
