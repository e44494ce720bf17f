package gemhook

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"google.golang.org/genai"
	gi "google.golang.org/genai/interactions/models/interactions"
	"google.golang.org/genai/interactions/models/operations"
	"google.golang.org/genai/interactions/retry"
)

// GenerateVideos starts a video generation through genai with this
// Client's webhook configuration and returns a future for the finished
// operation. cfg may be nil; it is not modified. Like SubmitBatch it
// returns after the create call: Name is set, or SubmitErr says why not.
func (c *Client) GenerateVideos(ctx context.Context, model string, src *genai.GenerateVideosSource, cfg *genai.GenerateVideosConfig, opts ...SubmitOption) *Future[*genai.GenerateVideosOperation] {
	return submitSpan(ctx, c, KindVideos, func(ctx context.Context) *Future[*genai.GenerateVideosOperation] {
		return c.generateVideos(ctx, model, src, cfg, opts...)
	})
}

func (c *Client) generateVideos(ctx context.Context, model string, src *genai.GenerateVideosSource, cfg *genai.GenerateVideosConfig, opts ...SubmitOption) *Future[*genai.GenerateVideosOperation] {
	if c.isClosed() {
		return failed[*genai.GenerateVideosOperation](ErrClosed)
	}
	if err := cmp.Or(checkModel("GenerateVideos", model), checkVideoSource(src)); err != nil {
		return failed[*genai.GenerateVideosOperation](err)
	}
	var own genai.GenerateVideosConfig
	if cfg != nil {
		own = *cfg
	}
	wc, token, err := c.genaiWebhook(own.WebhookConfig, opts)
	if err != nil {
		return failed[*genai.GenerateVideosOperation](err)
	}
	own.WebhookConfig = wc
	op, err := c.genai.Models.GenerateVideosFromSource(ctx, model, src, &own)
	if err != nil {
		return failed[*genai.GenerateVideosOperation](fmt.Errorf("gemhook: generate videos: %w", err))
	}
	if op == nil || !strings.Contains(op.Name, "/operations/") {
		return failed[*genai.GenerateVideosOperation](errors.New("gemhook: generate videos: Gemini returned no operation name"))
	}
	key := videoKey(op.Name)
	if f, ok := settledNow(ctx, c, videoKind, op.Name, key, op); ok {
		return f
	}
	return start(ctx, c, videoKind, op.Name, key, token, metadataOf(wc), false)
}

// AwaitVideos attaches to a video operation that already exists, by its
// full name ("models/<model>/operations/<id>"). It is fetched once at once;
// an operation that is already done settles without a webhook.
func (c *Client) AwaitVideos(name string) *Future[*genai.GenerateVideosOperation] {
	i := strings.Index(name, "/operations/")
	if i <= 0 || strings.HasSuffix(name, "/operations/") {
		return failed[*genai.GenerateVideosOperation](invalidArg("AwaitVideos(%q): not a video operation name: want \"models/<model>/operations/<id>\"", name))
	}
	return start(context.Background(), c, videoKind, name, videoKey(name), "", nil, true)
}

var videoKind = &kind[*genai.GenerateVideosOperation]{
	name: "video operation",
	kind: KindVideos,
	get: func(ctx context.Context, c *Client, name string) (*genai.GenerateVideosOperation, error) {
		return c.genai.Operations.GetVideosOperation(ctx, &genai.GenerateVideosOperation{Name: name}, nil)
	},
	settled: videoSettled,
}

func videoSettled(op *genai.GenerateVideosOperation, name string, hint JobEvent) (bool, string, error) {
	if op == nil || !op.Done {
		return false, "", nil
	}
	if op.Error == nil {
		return true, "DONE", nil
	}
	je := &JobError{Name: name, State: "FAILED", Code: hint.Code, Message: hint.Message}
	if v, ok := op.Error["code"]; ok && v != nil {
		je.Code = fmt.Sprint(v)
	}
	if v, ok := op.Error["message"].(string); ok && v != "" {
		je.Message = v
	}
	return true, "FAILED", je
}

// CreateInteraction creates a background interaction through genai with
// this Client's webhook configuration and returns a future for it. The
// request body (a model or an agent interaction) is copied, forced to run in
// the background, and given the webhook config; the caller's is not
// modified. Create is not retried: a retried POST could start the work
// twice. Like SubmitBatch it returns after the create call: Name is set,
// or SubmitErr says why not.
func (c *Client) CreateInteraction(ctx context.Context, req operations.CreateInteractionRequest, opts ...SubmitOption) *Future[*gi.Interaction] {
	return submitSpan(ctx, c, KindInteraction, func(ctx context.Context) *Future[*gi.Interaction] {
		return c.createInteraction(ctx, req, opts...)
	})
}

func (c *Client) createInteraction(ctx context.Context, req operations.CreateInteractionRequest, opts ...SubmitOption) *Future[*gi.Interaction] {
	if c.isClosed() {
		return failed[*gi.Interaction](ErrClosed)
	}
	if c.genai.Interactions == nil {
		return failed[*gi.Interaction](fmt.Errorf("%w: Config.GenAI has no Interactions client", ErrInvalidConfig))
	}
	background := true
	var cfg **gi.WebhookConfig
	switch {
	case req.Body.CreateModelInteraction != nil:
		m := *req.Body.CreateModelInteraction
		m.Background = &background
		req.Body.CreateModelInteraction, cfg = &m, &m.WebhookConfig
	case req.Body.CreateAgentInteraction != nil:
		a := *req.Body.CreateAgentInteraction
		a.Background = &background
		req.Body.CreateAgentInteraction, cfg = &a, &a.WebhookConfig
	default:
		return failed[*gi.Interaction](invalidArg("CreateInteraction: the request body is empty: set CreateModelInteraction or CreateAgentInteraction"))
	}
	var uris []string
	var meta map[string]any
	if *cfg != nil {
		uris, meta = (*cfg).Uris, (*cfg).UserMetadata
	}
	hook, err := c.plan(uris, meta, opts)
	if err != nil {
		return failed[*gi.Interaction](err)
	}
	var token string
	if hook != nil {
		*cfg = &gi.WebhookConfig{Uris: hook.uris, UserMetadata: hook.metadata}
		token, meta = hook.token, hook.metadata
	}
	res, err := c.genai.Interactions.Create(ctx, req, operations.WithRetries(retry.Config{Strategy: "none"}))
	if err != nil {
		return failed[*gi.Interaction](fmt.Errorf("gemhook: create interaction: %w", err))
	}
	if res == nil || res.Interaction == nil || res.Interaction.ID == nil || *res.Interaction.ID == "" {
		return failed[*gi.Interaction](errors.New("gemhook: create interaction: Gemini returned no interaction id"))
	}
	name := interactionName(*res.Interaction.ID)
	if f, ok := settledNow(ctx, c, interactionKind, name, name, res.Interaction); ok {
		return f
	}
	return start(ctx, c, interactionKind, name, name, token, meta, false)
}

// AwaitInteraction attaches to an interaction that already exists, by id
// ("x" or "interactions/x"). It is fetched once at once; an interaction that
// has already settled resolves without a webhook.
func (c *Client) AwaitInteraction(id string) *Future[*gi.Interaction] {
	bare := strings.TrimPrefix(id, "interactions/")
	if bare == "" || strings.Contains(bare, "/") {
		return failed[*gi.Interaction](invalidArg("AwaitInteraction(%q): not an interaction id: want \"<id>\" or \"interactions/<id>\"", id))
	}
	name := interactionName(bare)
	return start(context.Background(), c, interactionKind, name, name, "", nil, true)
}

func interactionName(id string) string {
	if strings.HasPrefix(id, "interactions/") {
		return id
	}
	return "interactions/" + id
}

var interactionKind = &kind[*gi.Interaction]{
	name: "interaction",
	kind: KindInteraction,
	get: func(ctx context.Context, c *Client, name string) (*gi.Interaction, error) {
		res, err := c.genai.Interactions.Get(ctx, operations.GetInteractionByIDRequest{ID: strings.TrimPrefix(name, "interactions/")})
		if err != nil {
			return nil, err
		}
		return res.Interaction, nil
	},
	settled: interactionSettled,
}

// interactionSettled: requires_action settles too; the interaction then
// waits for the caller, and Wait hands it over with that status.
func interactionSettled(it *gi.Interaction, name string, hint JobEvent) (bool, string, error) {
	if it == nil {
		return false, "", nil
	}
	switch it.Status {
	case gi.InteractionStatusCompleted, gi.InteractionStatusRequiresAction:
		return true, string(it.Status), nil
	case gi.InteractionStatusFailed, gi.InteractionStatusCancelled,
		gi.InteractionStatusIncomplete, gi.InteractionStatusBudgetExceeded:
		je := &JobError{Name: name, State: string(it.Status), Code: hint.Code, Message: hint.Message}
		if len(it.Errors) > 0 {
			if e := it.Errors[0]; e.Code != nil || e.Message != nil {
				if e.Code != nil {
					je.Code = *e.Code
				}
				if e.Message != nil {
					je.Message = *e.Message
				}
			}
		}
		return true, string(it.Status), je
	}
	return false, "", nil
}

// genai v1.77 writes, once per process and through the standard logger,
// that GenerateVideosFromSource "will be renamed to GenerateVideos()" (the
// legacy GenerateVideos logs its own deprecation instead). GenerateVideos
// here calls it, and the rename is genai's business, not a line for
// gemhook users' logs: use up that once here, while nothing else runs,
// with the log discarded. The call returns before any request: a nil
// source is refused first.
func init() {
	w := log.Writer()
	log.SetOutput(io.Discard)
	_, _ = genai.Models{}.GenerateVideosFromSource(context.Background(), "", nil, nil)
	log.SetOutput(w)
}
