package gemhooktest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"google.golang.org/genai"
)

// A project webhook gets the batch's terminal event, signed v1 with the
// secret RegisterWebhook returned, and Batches.Get reports the end.
func TestBatchProjectWebhook(t *testing.T) {
	t.Cleanup(leaktest.Check(t)) // first registered, so it runs after every other cleanup
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: 5 * time.Millisecond})
	defer s.Close()
	secret := s.RegisterWebhook(rc.URL+"/hook", "batch.succeeded")
	c := newClient(t, s)
	ctx := context.Background()

	job, err := c.Batches.Create(ctx, "gemini-2.5-flash", inlineSource("hi", "there"),
		&genai.CreateBatchJobConfig{DisplayName: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if job.State != genai.JobStatePending || job.DisplayName != "t1" || job.Model != "models/gemini-2.5-flash" {
		t.Fatalf("create returned %+v", job)
	}
	h := rc.next(t)
	verifyV1(t, secret, h, time.Now())
	env := h.envelope(t)
	data := env["data"].(map[string]any)
	if env["type"] != "batch.succeeded" || env["version"] != "v1" || data["id"] != job.Name {
		t.Fatalf("envelope %s", h.body)
	}
	if _, err := time.Parse(time.RFC3339, env["timestamp"].(string)); err != nil {
		t.Fatalf("envelope timestamp: %v", err)
	}
	got, err := c.Batches.Get(ctx, job.Name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != genai.JobStateSucceeded || got.EndTime.IsZero() || got.Dest == nil || len(got.Dest.InlinedResponses) != 2 {
		t.Fatalf("get returned %+v", got)
	}
	if md := got.Dest.InlinedResponses[1].Metadata["key"]; md != "b" {
		t.Fatalf("second response metadata key = %q, want b", md)
	}
	info, ok := s.Job(job.Name)
	if !ok || info.Outcome != Succeeded || info.Ended.IsZero() || info.MessageID != h.id() {
		t.Fatalf("Job() = %+v, %v", info, ok)
	}
	calls := s.Calls()
	if calls["batches.create"] != 1 || calls["batches.get"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}

func TestBatchOutcomes(t *testing.T) {
	t.Cleanup(leaktest.Check(t)) // first registered, so it runs after every other cleanup
	rc := newReceiver(t)
	outcomes := map[string]string{}
	s := NewServer(Options{JobDuration: -1})
	defer s.Close()
	secret := s.RegisterWebhook(rc.URL)
	c := newClient(t, s)
	ctx := context.Background()
	want := map[string]genai.JobState{
		Succeeded: genai.JobStateSucceeded, Failed: genai.JobStateFailed,
		Expired: genai.JobStateExpired, Cancelled: genai.JobStateCancelled,
	}
	for outcome, state := range want {
		job, err := c.Batches.Create(ctx, "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		outcomes[job.Name] = outcome
		if err := s.Finish(job.Name, outcome); err != nil {
			t.Fatal(err)
		}
		h := rc.next(t)
		verifyV1(t, secret, h, time.Now())
		env := h.envelope(t)
		data := env["data"].(map[string]any)
		if env["type"] != "batch."+outcome || data["id"] != job.Name {
			t.Fatalf("%s: envelope %s", outcome, h.body)
		}
		switch outcome {
		case Succeeded:
			if data["output_file_uri"] == nil {
				t.Fatalf("no output_file_uri: %s", h.body)
			}
		case Failed:
			if data["error_code"] == nil || data["error_message"] == nil {
				t.Fatalf("no error fields: %s", h.body)
			}
		}
		got, err := c.Batches.Get(ctx, job.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != state {
			t.Fatalf("%s: state %s, want %s", outcome, got.State, state)
		}
		if outcome == Succeeded && (got.Dest == nil || got.Dest.FileName == "") {
			t.Fatalf("file batch has no output file: %+v", got.Dest)
		}
		if err := s.Finish(job.Name, Succeeded); !errors.Is(err, ErrJobEnded) {
			t.Fatalf("second Finish: %v, want ErrJobEnded", err)
		}
	}
}
