package gemhook

import (
	"errors"
	"math"
	"strings"
	"testing"

	"google.golang.org/genai"
	gi "google.golang.org/genai/interactions/models/interactions"
	"google.golang.org/genai/interactions/models/operations"
)

// Bad input is refused before any call to Gemini, with an error that says
// what to change, instead of a 404 or a panic inside genai.
func TestBadInputNeverReachesTheAPI(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, noPolls)
	ctx := waitCtx(t)
	src := &genai.BatchJobSource{FileName: "files/in"}
	nan := WithUserMetadata(map[string]any{"tenant": "a", "score": math.NaN()})
	check := func(name, want string, err error) {
		t.Helper()
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v (want ErrInvalidArgument saying %s)", name, err, want)
		}
	}
	batch := func(f *Future[*genai.BatchJob]) error { _, err := f.Wait(ctx); return err }
	check("NaN metadata", `"score"`, batch(fx.c.SubmitBatch(ctx, "models/m", src, nil, nan)))
	check("Inf in the genai config's metadata", `"limit"`, batch(fx.c.SubmitBatch(ctx, "models/m", src,
		&genai.CreateBatchJobConfig{WebhookConfig: &genai.WebhookConfig{UserMetadata: map[string]any{"limit": math.Inf(1)}}})))
	check("nil source", "FileName", batch(fx.c.SubmitBatch(ctx, "models/m", nil, nil)))
	check("empty source", "InlinedRequests", batch(fx.c.SubmitBatch(ctx, "models/m", &genai.BatchJobSource{}, nil)))
	check("nil inlined request", "nil request", batch(fx.c.SubmitBatch(ctx, "models/m",
		&genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{nil}}, nil)))
	check("empty model", "model is empty", batch(fx.c.SubmitBatch(ctx, "", src, nil)))
	_, err := fx.c.GenerateVideos(ctx, "veo", nil, nil).Wait(ctx)
	check("nil video source", "Prompt", err)
	_, err = fx.c.GenerateVideos(ctx, " ", &genai.GenerateVideosSource{Prompt: "a cat"}, nil).Wait(ctx)
	check("empty video model", "model is empty", err)
	_, err = fx.c.CreateInteraction(ctx, operations.CreateInteractionRequest{Body: operations.CreateInteractionRequestBody{
		CreateModelInteraction: &gi.CreateModelInteraction{}}}, nan).Wait(ctx)
	check("NaN interaction metadata", `"score"`, err)
	check("empty webhook id to ping", "empty webhook id", fx.c.PingWebhook(ctx, ""))
	_, err = fx.c.RotateWebhookSecret(ctx, "")
	check("empty webhook id to rotate", "empty webhook id", err)
	fx.fake.mu.Lock()
	defer fx.fake.mu.Unlock()
	if fx.fake.creates != 0 {
		t.Fatalf("%d creates reached the API", fx.fake.creates)
	}
}
