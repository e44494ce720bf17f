package gemhooktest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"google.golang.org/genai"
)

// stepClock returns a clock that moves one second forward on every read,
// so that consecutive attempts carry different webhook-timestamps.
func stepClock(start time.Time) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

// A batch and a video with per-request URIs are delivered only there,
// signed v1a with a published key and with user_metadata echoed; the
// project webhook gets nothing.
func TestPerRequestURIs(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	project, dynamic := newReceiver(t), newReceiver(t)
	s := NewServer(Options{JobDuration: time.Millisecond})
	defer s.Close()
	s.RegisterWebhook(project.URL)
	c := newClient(t, s)
	ctx := context.Background()
	wh := &genai.WebhookConfig{Uris: []string{dynamic.URL + "/tenant-a"}, UserMetadata: map[string]any{"job": "j-42", "n": 1}}

	job, err := c.Batches.Create(ctx, "gemini-2.5-flash", inlineSource("x"), &genai.CreateBatchJobConfig{WebhookConfig: wh})
	if err != nil {
		t.Fatal(err)
	}
	op, err := c.Models.GenerateVideosFromSource(ctx, "veo-3.0-generate-001", &genai.GenerateVideosSource{Prompt: "a cat"},
		&genai.GenerateVideosConfig{WebhookConfig: wh})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(op.Name, "models/veo-3.0-generate-001/operations/") {
		t.Fatalf("operation name %q", op.Name)
	}
	seen := map[string]bool{}
	for range 2 {
		h := dynamic.next(t)
		if h.path != "/tenant-a" {
			t.Fatalf("delivered to %s", h.path)
		}
		verifyV1a(t, s.JWKSURL, h, time.Now())
		env := h.envelope(t)
		md, _ := env["user_metadata"].(map[string]any)
		if md["job"] != "j-42" || md["n"] != float64(1) {
			t.Fatalf("user_metadata not echoed at the top level: %s", h.body)
		}
		data := env["data"].(map[string]any)
		seen[env["type"].(string)+" "+data["id"].(string)] = true
		if env["type"] == "video.generated" {
			for _, k := range []string{"video_uri", "output_file_uri", "file_name"} {
				if data[k] == nil {
					t.Fatalf("video event lacks %s: %s", k, h.body)
				}
			}
		}
	}
	if !seen["batch.succeeded "+job.Name] || !seen["video.generated "+op.Name] {
		t.Fatalf("events seen: %v", seen)
	}
	project.none(t, 50*time.Millisecond)

	got, err := c.Operations.GetVideosOperation(ctx, op, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Done || got.Error != nil || got.Response == nil || len(got.Response.GeneratedVideos) != 1 {
		t.Fatalf("operation %+v", got)
	}
	for _, d := range s.Deliveries() {
		if d.Scheme != "v1a" || d.WebhookID != "" {
			t.Fatalf("delivery %+v", d)
		}
	}
}

func TestMetadataInDataAndBareIDs(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: time.Millisecond, MetadataInData: true, BareIDs: true})
	defer s.Close()
	c := newClient(t, s)
	job, err := c.Batches.Create(context.Background(), "m", inlineSource("x"),
		&genai.CreateBatchJobConfig{WebhookConfig: &genai.WebhookConfig{Uris: []string{rc.URL}, UserMetadata: map[string]any{"k": "v"}}})
	if err != nil {
		t.Fatal(err)
	}
	env := rc.next(t).envelope(t)
	data := env["data"].(map[string]any)
	if env["user_metadata"] != nil || data["user_metadata"].(map[string]any)["k"] != "v" {
		t.Fatalf("user_metadata not under data: %v", env)
	}
	if data["id"] != strings.TrimPrefix(job.Name, "batches/") {
		t.Fatalf("data.id = %v, want the bare id of %s", data["id"], job.Name)
	}
}

// A 503 answer is retried with the same webhook-id and a fresh timestamp
// and signature that verify.
func TestRetryAfter503(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	rc.setAnswer(func(n int, _ hit) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	start := time.Now()
	clock := stepClock(start)
	s := NewServer(Options{JobDuration: time.Millisecond, RetryBackoff: time.Millisecond, Now: clock})
	defer s.Close()
	secret := s.RegisterWebhook(rc.URL)
	c := newClient(t, s)
	if _, err := c.Batches.Create(context.Background(), "m", inlineSource("x"), nil); err != nil {
		t.Fatal(err)
	}
	first, second := rc.next(t), rc.next(t)
	if first.id() != second.id() {
		t.Fatalf("retry changed webhook-id: %s then %s", first.id(), second.id())
	}
	if first.ts() == second.ts() || first.sig() == second.sig() {
		t.Fatalf("retry reused timestamp %s or signature", first.ts())
	}
	if string(first.body) != string(second.body) {
		t.Fatal("retry changed the body")
	}
	now := clock()
	verifyV1(t, secret, first, now)
	verifyV1(t, secret, second, now)
	waitFor(t, func() bool { return len(s.Deliveries()) == 2 })
	log := s.Deliveries()
	if log[0].Result != Retrying || log[0].Status != 503 || log[1].Result != Delivered || log[1].Attempt != 2 {
		t.Fatalf("log %+v", log)
	}
}

// Deliveries that keep failing give up at the horizon; after DisableAfter
// such deliveries the webhook is disabled and gets nothing more.
func TestGiveUpAndDisable(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	rc.setAnswer(func(int, hit) int { return http.StatusInternalServerError })
	gaveUp := make(chan Delivery, 100)
	s := NewServer(Options{
		JobDuration: -1, RetryBackoff: time.Millisecond, RetryHorizon: 30 * time.Millisecond, DisableAfter: 2,
		OnDelivery: func(d Delivery) {
			if d.Result == GaveUp {
				gaveUp <- d
			}
		},
	})
	defer s.Close()
	s.RegisterWebhook(rc.URL)
	hook := s.Webhooks()[0]
	c := newClient(t, s)
	for i := range 3 {
		job, err := c.Batches.Create(context.Background(), "m", inlineSource("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(job.Name, Succeeded); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			d := <-gaveUp
			if d.Attempt < 2 || d.Status != 500 {
				t.Fatalf("gave up after %+v", d)
			}
		}
	}
	if st := s.Webhooks()[0].State; st != "disabled_due_to_failed_deliveries" {
		t.Fatalf("state %s", st)
	}
	// The third event found no enabled webhook.
	for _, d := range s.Deliveries() {
		if d.Resource != "" && d.Attempt == 0 {
			t.Fatalf("unexpected log entry %+v", d)
		}
	}
	// Re-enabling through the API resets the count.
	res, err := c.Webhooks.Get(context.Background(), getWebhookReq(hook.ID))
	if err != nil || string(*res.Webhook.State) != "disabled_due_to_failed_deliveries" {
		t.Fatalf("Webhooks.Get: %v", err)
	}
}

// A 3xx answer is a failure, and its Location is not followed.
func TestNoRedirects(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	target := newReceiver(t)
	rc := newReceiver(t)
	rc.setAnswer(func(n int, _ hit) int { return http.StatusFound })
	rc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
		rc.hits <- hit{path: r.URL.Path, header: r.Header.Clone()}
	})
	s := NewServer(Options{JobDuration: time.Millisecond, RetryBackoff: time.Hour})
	defer s.Close()
	s.RegisterWebhook(rc.URL)
	c := newClient(t, s)
	if _, err := c.Batches.Create(context.Background(), "m", inlineSource("x"), nil); err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	target.none(t, 50*time.Millisecond)
	waitFor(t, func() bool { l := s.Deliveries(); return len(l) == 1 && l[0].Status == 302 && l[0].Result == Retrying })
}

// An attempt that outlives AttemptTimeout fails and is retried.
func TestAttemptTimeout(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	release := make(chan struct{})
	rc := newReceiver(t)
	rc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	s := NewServer(Options{JobDuration: time.Millisecond, AttemptTimeout: 20 * time.Millisecond, RetryBackoff: time.Hour})
	defer s.Close()
	s.RegisterWebhook(rc.URL)
	c := newClient(t, s)
	if _, err := c.Batches.Create(context.Background(), "m", inlineSource("x"), nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		l := s.Deliveries()
		return len(l) == 1 && l[0].Status == 0 && l[0].Err != "" && l[0].Result == Retrying
	})
}

// Redeliver sends the last event again with the same webhook-id.
func TestRedeliver(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: -1})
	defer s.Close()
	s.RegisterWebhook(rc.URL)
	c := newClient(t, s)
	job, err := c.Batches.Create(context.Background(), "m", inlineSource("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Redeliver(job.Name); err == nil {
		t.Fatal("Redeliver of a running job succeeded")
	}
	if err := s.Finish(job.Name, Failed); err != nil {
		t.Fatal(err)
	}
	a := rc.next(t)
	if err := s.Redeliver(job.Name); err != nil {
		t.Fatal(err)
	}
	b := rc.next(t)
	if a.id() != b.id() || string(a.body) != string(b.body) {
		t.Fatalf("redelivery differs: %s %s", a.id(), b.id())
	}
	if err := s.Redeliver("batches/nope"); err == nil {
		t.Fatal("Redeliver of an unknown job succeeded")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
