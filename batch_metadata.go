package gemhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"google.golang.org/genai"
)

// ErrMetadataRefused: Gemini refused the user metadata of a batch's webhook
// config (go-genai issue 779). gemhook works around it when the metadata
// holds only its own correlation token; metadata the caller asked for is
// not dropped silently, so the submission fails with this error and the
// API's.
var ErrMetadataRefused = errors.New("gemhook: the Batch API refused userMetadata in batch.webhook_config")

// metadataHint names the known issue and what to do, after ErrMetadataRefused.
const metadataHint = "known API bug, go-genai issue 779: https://github.com/googleapis/go-genai/issues/779; submit the batch without user metadata"

// createBatch creates the batch and returns the correlation token the job
// keeps. When the Batch API refuses user metadata and the metadata is only
// gemhook's token, the batch is created again without it and settles by its
// name alone; the Client then stops sending the token on batches. A 400
// creates no job, so the second create cannot duplicate one.
func (c *Client) createBatch(ctx context.Context, model string, src *genai.BatchJobSource, cfg *genai.CreateBatchJobConfig, token string) (*genai.BatchJob, string, error) {
	onlyToken := token != "" && cfg.WebhookConfig != nil && onlyTokenIn(cfg.WebhookConfig.UserMetadata)
	if onlyToken && c.batchMetadataRefused.Load() {
		return c.createBatchWithoutMetadata(ctx, model, src, cfg)
	}
	job, err := c.genai.Batches.Create(ctx, model, src, cfg)
	if err == nil || !metadataRefused(err) {
		return job, token, err
	}
	if c.batchMetadataRefused.CompareAndSwap(false, true) {
		c.log.LogAttrs(ctx, slog.LevelInfo, "the Batch API refuses userMetadata in webhook configs (go-genai issue 779); batches are now sent without a correlation token and settle by name",
			slog.String("error", err.Error()))
	}
	if !onlyToken {
		return nil, "", fmt.Errorf("%w (%s): %w", ErrMetadataRefused, metadataHint, err)
	}
	return c.createBatchWithoutMetadata(ctx, model, src, cfg)
}

func (c *Client) createBatchWithoutMetadata(ctx context.Context, model string, src *genai.BatchJobSource, cfg *genai.CreateBatchJobConfig) (*genai.BatchJob, string, error) {
	own := *cfg
	own.WebhookConfig = &genai.WebhookConfig{Uris: cfg.WebhookConfig.Uris}
	job, err := c.genai.Batches.Create(ctx, model, src, &own)
	return job, "", err
}

func onlyTokenIn(m map[string]any) bool {
	_, ok := m[TokenKey]
	return ok && len(m) == 1
}

// metadataRefused recognises the API's answer to a batch whose webhook
// config carries user metadata: 400 INVALID_ARGUMENT naming the field.
func metadataRefused(err error) bool {
	var e genai.APIError
	if !errors.As(err, &e) {
		var p *genai.APIError
		if !errors.As(err, &p) || p == nil {
			return false
		}
		e = *p
	}
	if e.Code != http.StatusBadRequest || (e.Status != "" && e.Status != "INVALID_ARGUMENT") {
		return false
	}
	return strings.Contains(e.Message, "userMetadata") || strings.Contains(e.Message, "user_metadata")
}
