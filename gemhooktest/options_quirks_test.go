package gemhooktest

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"
	"google.golang.org/genai/interactions/models/operations"
	"google.golang.org/genai/interactions/models/webhooks"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// The Batch API's refusal of userMetadata (go-genai issue 779), word for
// word, creating no job; a config without metadata is still accepted.
func TestRefuseBatchMetadata(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := NewServer(Options{JobDuration: -1, RefuseBatchMetadata: true})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	_, err := c.Batches.Create(ctx, "m", inlineSource("x"), &genai.CreateBatchJobConfig{WebhookConfig: &genai.WebhookConfig{
		Uris: []string{"http://127.0.0.1:1/hook"}, UserMetadata: map[string]any{"k": "v"},
	}})
	var e genai.APIError
	const want = `Invalid JSON payload received. Unknown name "userMetadata" at 'batch.webhook_config': Cannot find field.`
	if !errors.As(err, &e) || e.Code != http.StatusBadRequest || e.Status != "INVALID_ARGUMENT" || e.Message != want || len(e.Details) != 1 {
		t.Fatalf("create with metadata: %#v", err)
	}
	if n := len(s.Jobs()); n != 0 {
		t.Fatalf("a refused create made %d jobs", n)
	}
	if _, err := c.Batches.Create(ctx, "m", inlineSource("x"), &genai.CreateBatchJobConfig{WebhookConfig: &genai.WebhookConfig{
		Uris: []string{"http://127.0.0.1:1/hook"},
	}}); err != nil {
		t.Fatalf("create without metadata: %v", err)
	}
}

func TestVideoFileField(t *testing.T) {
	for _, tc := range []struct {
		field       string
		want, wantN []string
	}{
		{"", []string{"video_uri", "output_file_uri", "file_name"}, nil},
		{VideoURIOnly, []string{"video_uri"}, []string{"output_file_uri", "file_name"}},
		{OutputFileURIOnly, []string{"output_file_uri", "file_name"}, []string{"video_uri"}},
	} {
		t.Run(cmp.Or(tc.field, "all"), func(t *testing.T) {
			t.Cleanup(leaktest.Check(t))
			rc := newReceiver(t)
			s := NewServer(Options{JobDuration: time.Millisecond, VideoFileField: tc.field})
			defer s.Close()
			c := newClient(t, s)
			_, err := c.Models.GenerateVideosFromSource(context.Background(), "veo-3.0-generate-001", &genai.GenerateVideosSource{Prompt: "x"},
				&genai.GenerateVideosConfig{WebhookConfig: &genai.WebhookConfig{Uris: []string{rc.URL}}})
			if err != nil {
				t.Fatal(err)
			}
			data := rc.next(t).envelope(t)["data"].(map[string]any)
			for _, k := range tc.want {
				if v, _ := data[k].(string); v == "" {
					t.Errorf("data.%s missing: %v", k, data)
				}
			}
			for _, k := range tc.wantN {
				if _, ok := data[k]; ok {
					t.Errorf("data.%s present: %v", k, data)
				}
			}
		})
	}
	if _, err := Start(Options{VideoFileField: "uri"}); err == nil {
		t.Fatal("Start accepted an unknown VideoFileField")
	}
}

// Subscribing to a cancellation is refused on create and update, and
// RegisterWebhook subscribes to the other seven.
func TestRefuseCancelSubscriptions(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := NewServer(Options{JobDuration: -1, RefuseCancelSubscriptions: true})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	_, err := c.Webhooks.Create(ctx, operations.CreateWebhookRequest{Body: webhooks.WebhookInput{
		URI: "http://127.0.0.1:1/a",
		SubscribedEvents: []webhooks.WebhookSubscribedEvent{
			webhooks.WebhookSubscribedEventBatchSucceeded, webhooks.WebhookSubscribedEvent("batch.cancelled"),
		},
	}})
	if apiStatus(t, err) != http.StatusBadRequest || !strings.Contains(err.Error(), `subscribed_events[1]`) {
		t.Fatalf("create subscribing to batch.cancelled: %v", err)
	}
	s.RegisterWebhook("http://127.0.0.1:1/b")
	hooks := s.Webhooks()
	if len(hooks) != 1 || len(hooks[0].Events) != 7 || slices.ContainsFunc(hooks[0].Events, func(e string) bool { return strings.HasSuffix(e, ".cancelled") }) {
		t.Fatalf("RegisterWebhook subscribed to %v", hooks)
	}
	_, err = c.Webhooks.Update(ctx, operations.UpdateWebhookRequest{ID: hooks[0].ID, UpdateMask: genai.Ptr("subscribed_events"), Body: webhooks.WebhookUpdate{
		SubscribedEvents: []webhooks.WebhookUpdateSubscribedEvent{webhooks.WebhookUpdateSubscribedEvent("interaction.cancelled")},
	}})
	if apiStatus(t, err) != http.StatusBadRequest || !strings.Contains(err.Error(), "Invalid value at 'subscribed_events[0]'") {
		t.Fatalf("update subscribing to interaction.cancelled: %v", err)
	}
}
