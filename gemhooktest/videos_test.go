package gemhooktest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"google.golang.org/genai"
)

func TestVideoProjectWebhook(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: -1})
	defer s.Close()
	secret := s.RegisterWebhook(rc.URL, "video.generated")
	c := newClient(t, s)
	ctx := context.Background()

	op, err := c.Models.GenerateVideosFromSource(ctx, "veo-3.0-generate-001", &genai.GenerateVideosSource{Prompt: "a dog"},
		&genai.GenerateVideosConfig{NumberOfVideos: 2})
	if err != nil {
		t.Fatal(err)
	}
	running, err := c.Operations.GetVideosOperation(ctx, op, nil)
	if err != nil || running.Done {
		t.Fatalf("running operation %+v, %v", running, err)
	}
	if err := s.Finish(op.Name, Succeeded); err != nil {
		t.Fatal(err)
	}
	h := rc.next(t)
	verifyV1(t, secret, h, time.Now())
	data := h.envelope(t)["data"].(map[string]any)
	if data["id"] != op.Name {
		t.Fatalf("data.id %v", data["id"])
	}
	done, err := c.Operations.GetVideosOperation(ctx, op, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !done.Done || len(done.Response.GeneratedVideos) != 2 || done.Response.GeneratedVideos[0].Video.URI != data["video_uri"] {
		t.Fatalf("done operation %+v", done)
	}
	b, err := c.Files.Download(ctx, genai.NewDownloadURIFromGeneratedVideo(done.Response.GeneratedVideos[1]), nil)
	if err != nil || !strings.HasPrefix(string(b), "gemhooktest video") {
		t.Fatalf("download: %q, %v", b, err)
	}
}

func TestVideoFailure(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: time.Millisecond, Outcome: func(string) string { return Failed }})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	op, err := c.Models.GenerateVideosFromSource(ctx, "veo-3.0-generate-001", &genai.GenerateVideosSource{Prompt: "x"},
		&genai.GenerateVideosConfig{WebhookConfig: &genai.WebhookConfig{Uris: []string{rc.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	env := rc.next(t).envelope(t)
	if env["type"] != "video.generated" || env["data"].(map[string]any)["error_code"] == nil {
		t.Fatalf("event %v", env)
	}
	done, err := c.Operations.GetVideosOperation(ctx, op, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !done.Done || done.Error == nil || done.Response != nil {
		t.Fatalf("failed operation %+v", done)
	}
}
