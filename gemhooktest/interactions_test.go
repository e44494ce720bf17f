package gemhooktest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"google.golang.org/genai"
	gi "google.golang.org/genai/interactions/models/interactions"
	"google.golang.org/genai/interactions/models/operations"
)

func createInteraction(t *testing.T, c *genai.Client, background bool, wh *gi.WebhookConfig) (*gi.Interaction, error) {
	t.Helper()
	body := gi.CreateModelInteraction{
		Model: gi.Model("gemini-2.5-flash"), Input: genai.Ptr(gi.NewInteractionsInput("Why is the sky blue?")),
		WebhookConfig: wh,
	}
	if background {
		body.Background = genai.Ptr(true)
	}
	res, err := c.Interactions.Create(context.Background(), operations.CreateInteractionRequest{Body: operations.NewCreateInteractionRequestBody(body)})
	if err != nil {
		return nil, err
	}
	return res.Interaction, nil
}

func TestInteractionBackground(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: -1})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()

	in, err := createInteraction(t, c, true, &gi.WebhookConfig{Uris: []string{rc.URL}, UserMetadata: map[string]any{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != gi.InteractionStatusInProgress || in.ID == nil || strings.Contains(*in.ID, "/") {
		t.Fatalf("created %+v", in)
	}
	id := *in.ID
	if err := s.Finish("interactions/"+id, RequiresAction); err != nil {
		t.Fatal(err)
	}
	h := rc.next(t)
	verifyV1a(t, s.JWKSURL, h, time.Now())
	env := h.envelope(t)
	if env["type"] != "interaction.requires_action" || env["data"].(map[string]any)["id"] != "interactions/"+id {
		t.Fatalf("event %s", h.body)
	}
	got, err := c.Interactions.Get(ctx, operations.GetInteractionByIDRequest{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if got.Interaction.Status != gi.InteractionStatusRequiresAction {
		t.Fatalf("status %s", got.Interaction.Status)
	}
	if err := s.Finish(id, Succeeded); err != nil {
		t.Fatal(err)
	}
	if env := rc.next(t).envelope(t); env["type"] != "interaction.completed" {
		t.Fatalf("event %v", env)
	}
	got, err = c.Interactions.Get(ctx, operations.GetInteractionByIDRequest{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if got.Interaction.Status != gi.InteractionStatusCompleted || got.Interaction.OutputText == nil || *got.Interaction.OutputText == "" {
		t.Fatalf("completed interaction %+v", got.Interaction)
	}
	if got.Interaction.WebhookConfig == nil || got.Interaction.WebhookConfig.UserMetadata["a"] != "b" {
		t.Fatalf("webhook_config not echoed: %+v", got.Interaction.WebhookConfig)
	}
	if _, err := c.Interactions.Cancel(ctx, operations.CancelInteractionByIDRequest{ID: id}); err == nil {
		t.Fatal("cancelling a completed interaction succeeded")
	}
}

func TestInteractionCancelAndFail(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: time.Millisecond, Outcome: func(string) string { return Failed }})
	defer s.Close()
	s.RegisterWebhook(rc.URL, "interaction.failed", "interaction.cancelled")
	c := newClient(t, s)
	ctx := context.Background()

	in, err := createInteraction(t, c, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := rc.next(t).envelope(t)
	data := env["data"].(map[string]any)
	if env["type"] != "interaction.failed" || data["error_code"] == nil || data["error_message"] == nil {
		t.Fatalf("event %v", env)
	}
	got, err := c.Interactions.Get(ctx, operations.GetInteractionByIDRequest{ID: *in.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Interaction.Status != gi.InteractionStatusFailed || len(got.Interaction.Errors) != 1 {
		t.Fatalf("failed interaction %+v", got.Interaction)
	}

	s2 := NewServer(Options{JobDuration: -1})
	defer s2.Close()
	s2.RegisterWebhook(rc.URL)
	c2 := newClient(t, s2)
	in, err = createInteraction(t, c2, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	cres, err := c2.Interactions.Cancel(ctx, operations.CancelInteractionByIDRequest{ID: *in.ID})
	if err != nil {
		t.Fatal(err)
	}
	if cres.Interaction.Status != gi.InteractionStatusCancelled {
		t.Fatalf("cancel returned %s", cres.Interaction.Status)
	}
	if env := rc.next(t).envelope(t); env["type"] != "interaction.cancelled" {
		t.Fatalf("event %v", env)
	}
	if _, err := c2.Interactions.Delete(ctx, operations.DeleteInteractionRequest{ID: *in.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Interactions.Get(ctx, operations.GetInteractionByIDRequest{ID: *in.ID}); err == nil {
		t.Fatal("deleted interaction still found")
	}
}

func TestInteractionForegroundAndRefusals(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := NewServer(Options{})
	defer s.Close()
	c := newClient(t, s)
	in, err := createInteraction(t, c, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != gi.InteractionStatusCompleted || in.OutputText == nil {
		t.Fatalf("foreground interaction %+v", in)
	}
	_, err = createInteraction(t, c, false, &gi.WebhookConfig{Uris: []string{"http://127.0.0.1:1/x"}})
	if err == nil || !strings.Contains(err.Error(), "background") {
		t.Fatalf("webhook_config without background: %v", err)
	}
	if _, err := c.Interactions.Get(context.Background(), operations.GetInteractionByIDRequest{ID: "v1_nope"}); err == nil {
		t.Fatal("unknown interaction found")
	}
}
