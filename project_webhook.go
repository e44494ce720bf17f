package gemhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/genai"
	"google.golang.org/genai/interactions/models/operations"
	"google.golang.org/genai/interactions/models/webhooks"
)

// States of a project webhook, as Gemini reports them in ProjectWebhook.State.
const (
	WebhookEnabled  = "enabled"
	WebhookDisabled = "disabled" // by a user
	// WebhookDisabledFailures: Gemini gave up on the webhook after
	// deliveries kept failing; it sends it nothing until it is re-enabled.
	WebhookDisabledFailures = "disabled_due_to_failed_deliveries"
)

// SecretRevocationDelay is how long Gemini keeps signing with a webhook's
// previous secrets after RotateWebhookSecret (its default revocation).
const SecretRevocationDelay = 24 * time.Hour

// retireSkew is added to SecretRevocationDelay before an old secret is
// dropped, for clock skew between Gemini and this process.
const retireSkew = 5 * time.Minute

// maxWebhookPages bounds a listing of the project's webhooks: Gemini pages at most 1000
// webhooks, and a project with more than that is not one to guess in.
const maxWebhookPages = 20

// ErrInvalidWebhookURI: EnsureWebhook got a URI that is not an absolute
// http(s) URL, or one with credentials.
var ErrInvalidWebhookURI = errors.New("gemhook: invalid webhook URI")

// ProjectWebhook is a project-level webhook as Gemini holds it.
type ProjectWebhook struct {
	ID, URI string
	Events  []string
	State   string // WebhookEnabled, WebhookDisabled or WebhookDisabledFailures
	// Secret is the signing secret, set only when this call created the
	// webhook: Gemini shows a secret once. Store it if other processes
	// verify deliveries too.
	Secret string
	// NumSecrets counts the signing secrets Gemini holds for the webhook: two
	// while a rotated-out secret is still valid.
	NumSecrets int
}

// EnsureWebhook makes the project's webhook for uri exist, subscribed to
// exactly events (every type Gemini's API lists when none are given), and
// enabled if Gemini disabled it after failed deliveries. A webhook a user
// disabled stays disabled. A newly created webhook's secret is added to the
// Client's Receiver at once.
//
// The webhook is found by exact URI among the project's webhooks. Its
// secret cannot be read back: if the webhook already existed, the Receiver
// must already hold its secret (ReceiverConfig.Secrets), or call
// RotateWebhookSecret to get one this Client knows.
//
// Event names are checked before any call: a typo fails with an
// *EventNameError naming the closest valid type.
func (c *Client) EnsureWebhook(ctx context.Context, uri string, events ...string) (*ProjectWebhook, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	if err := checkWebhookURL(uri); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidWebhookURI, err)
	}
	if err := CheckEvents(events...); err != nil {
		return nil, err
	}
	want := uniqueEvents(events)
	c.hooks.sweep()

	found, err := c.findWebhook(ctx, uri)
	if err != nil {
		return nil, err
	}
	if found == nil {
		return c.createWebhook(ctx, uri, want)
	}
	ph := found
	var mask []string
	body := webhooks.WebhookUpdate{}
	if !sameSet(ph.Events, want) {
		mask = append(mask, "subscribed_events")
		for _, e := range want {
			body.SubscribedEvents = append(body.SubscribedEvents, webhooks.WebhookUpdateSubscribedEvent(e))
		}
	}
	switch ph.State {
	case WebhookDisabledFailures:
		mask = append(mask, "state")
		body.State = webhooks.WebhookUpdateStateEnabled.ToPointer()
		c.log.LogAttrs(ctx, slog.LevelWarn, "re-enabling project webhook that Gemini disabled after failed deliveries",
			slog.String("webhook", ph.ID), slog.String("uri", ph.URI),
			slog.String("why", "deliveries to it kept failing (no 2xx within the retry horizon); "+
				"events sent meanwhile were lost, and pending jobs are settled by fallback polls"))
	case WebhookDisabled:
		c.log.LogAttrs(ctx, slog.LevelWarn, "project webhook is disabled by a user; leaving it so",
			slog.String("webhook", ph.ID), slog.String("uri", ph.URI))
	}
	if len(mask) == 0 {
		return ph, nil
	}
	res, err := c.genai.Webhooks.Update(ctx, operations.UpdateWebhookRequest{
		ID: ph.ID, UpdateMask: genai.Ptr(strings.Join(mask, ",")), Body: body,
	})
	if err != nil {
		return nil, fmt.Errorf("gemhook: updating webhook %s (%s): %w", ph.ID, strings.Join(mask, ", "), err)
	}
	if res.Webhook == nil {
		return nil, fmt.Errorf("gemhook: updating webhook %s: empty response", ph.ID)
	}
	return projectWebhook(res.Webhook), nil
}

func (c *Client) createWebhook(ctx context.Context, uri string, events []string) (*ProjectWebhook, error) {
	in := webhooks.WebhookInput{URI: uri}
	for _, e := range events {
		in.SubscribedEvents = append(in.SubscribedEvents, webhooks.WebhookSubscribedEvent(e))
	}
	res, err := c.genai.Webhooks.Create(ctx, operations.CreateWebhookRequest{Body: in})
	if err != nil {
		return nil, fmt.Errorf("gemhook: creating webhook for %s: %w", uri, err)
	}
	if res.Webhook == nil || res.Webhook.ID == nil {
		return nil, fmt.Errorf("gemhook: creating webhook for %s: response has no webhook id", uri)
	}
	ph := projectWebhook(res.Webhook)
	if res.Webhook.NewSigningSecret == nil || *res.Webhook.NewSigningSecret == "" {
		return nil, fmt.Errorf("gemhook: created webhook %s, but Gemini returned no signing secret; rotate it to get one", ph.ID)
	}
	ph.Secret = *res.Webhook.NewSigningSecret
	if err := c.hooks.issued(ctx, ph.ID, ph.Secret); err != nil {
		return nil, fmt.Errorf("gemhook: created webhook %s, but its secret was refused: %w", ph.ID, err)
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "created project webhook",
		slog.String("webhook", ph.ID), slog.String("uri", uri), slog.Any("events", events))
	return ph, nil
}

// ListWebhooks returns the project's webhooks, as Gemini lists them
// (oldest first). Secrets are never included: Gemini shows a secret once.
func (c *Client) ListWebhooks(ctx context.Context) ([]*ProjectWebhook, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	var out []*ProjectWebhook
	var token *string
	for range maxWebhookPages {
		res, err := c.genai.Webhooks.List(ctx, operations.ListWebhooksRequest{PageSize: genai.Ptr(1000), PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("gemhook: listing webhooks: %w", err)
		}
		if res.WebhookListResponse == nil {
			break
		}
		for i := range res.WebhookListResponse.Webhooks {
			if w := &res.WebhookListResponse.Webhooks[i]; w.ID != nil {
				out = append(out, projectWebhook(w))
			}
		}
		token = res.WebhookListResponse.NextPageToken
		if token == nil || *token == "" {
			break
		}
	}
	return out, nil
}

// findWebhook returns the oldest webhook for exactly uri, or nil.
func (c *Client) findWebhook(ctx context.Context, uri string) (*ProjectWebhook, error) {
	all, err := c.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	var found *ProjectWebhook
	n := 0
	for _, w := range all {
		if w.URI == uri {
			n++
			if found == nil {
				found = w
			}
		}
	}
	if n > 1 {
		c.log.LogAttrs(ctx, slog.LevelWarn, "several project webhooks deliver to one URI; each event arrives once per webhook",
			slog.String("uri", uri), slog.Int("webhooks", n), slog.String("using", found.ID))
	}
	return found, nil
}

// RotateWebhookSecret asks Gemini for a new signing secret for webhook id,
// keeping the previous ones valid for SecretRevocationDelay (Gemini's
// default). The new secret is added to the Client's Receiver before this
// returns; the previous secrets this Client knows (from EnsureWebhook or an
// earlier rotation) are removed from it once the delay has passed. Secrets
// the Client never saw, such as those in ReceiverConfig.Secrets, are left
// for the caller to remove after the delay. The removal is scheduled on the
// Client: closing the Client before the delay has passed cancels it, and a
// Receiver that lives on keeps accepting the old secret until
// Receiver.RemoveSecret is called.
func (c *Client) RotateWebhookSecret(ctx context.Context, id string) (secret string, err error) {
	if c.isClosed() {
		return "", ErrClosed
	}
	if id == "" {
		return "", invalidArg("RotateWebhookSecret: empty webhook id")
	}
	c.hooks.sweep()
	res, err := c.genai.Webhooks.RotateSigningSecret(ctx, operations.RotateSigningSecretRequest{
		ID: id,
		Body: webhooks.RotateSigningSecretRequest{
			RevocationBehavior: webhooks.RevocationBehaviorRevokePreviousSecretsAfterH24.ToPointer(),
		},
	})
	if err != nil {
		return "", fmt.Errorf("gemhook: rotating the secret of webhook %s: %w", id, err)
	}
	r := res.WebhookRotateSigningSecretResponse
	if r == nil || r.Secret == nil || *r.Secret == "" {
		return "", fmt.Errorf("gemhook: rotating the secret of webhook %s: response has no secret", id)
	}
	if err := c.hooks.rotated(ctx, id, *r.Secret); err != nil {
		return "", fmt.Errorf("gemhook: rotated the secret of webhook %s, but the new one was refused: %w", id, err)
	}
	return *r.Secret, nil
}

func projectWebhook(w *webhooks.Webhook) *ProjectWebhook {
	ph := &ProjectWebhook{URI: w.URI, NumSecrets: len(w.SigningSecrets)}
	if w.ID != nil {
		ph.ID = *w.ID
	}
	if w.State != nil {
		ph.State = string(*w.State)
	}
	for _, e := range w.SubscribedEvents {
		ph.Events = append(ph.Events, string(e))
	}
	return ph
}

// uniqueEvents drops repeats, keeping the caller's order; none means every
// type of the API's enum.
func uniqueEvents(events []string) []string {
	if len(events) == 0 {
		return slices.Clone(subscribable)
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
