package gemhook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"google.golang.org/genai"
)

// SubmitBatch creates a batch job through genai with this Client's webhook
// configuration and returns a future for its outcome. cfg may be nil; it is
// not modified. It blocks until Gemini has answered the create call: then
// the future's Name is set, or SubmitErr (and Wait) say why the job was
// not created.
func (c *Client) SubmitBatch(ctx context.Context, model string, src *genai.BatchJobSource, cfg *genai.CreateBatchJobConfig, opts ...SubmitOption) *Future[*genai.BatchJob] {
	return submitSpan(ctx, c, KindBatch, func(ctx context.Context) *Future[*genai.BatchJob] {
		return c.submitBatch(ctx, model, src, cfg, opts...)
	})
}

func (c *Client) submitBatch(ctx context.Context, model string, src *genai.BatchJobSource, cfg *genai.CreateBatchJobConfig, opts ...SubmitOption) *Future[*genai.BatchJob] {
	if c.isClosed() {
		return failed[*genai.BatchJob](ErrClosed)
	}
	if err := cmp.Or(checkModel("SubmitBatch", model), checkBatchSource(src)); err != nil {
		return failed[*genai.BatchJob](err)
	}
	var own genai.CreateBatchJobConfig
	if cfg != nil {
		own = *cfg
	}
	wc, token, err := c.genaiWebhook(own.WebhookConfig, opts)
	if err != nil {
		return failed[*genai.BatchJob](err)
	}
	own.WebhookConfig = wc
	job, token, err := c.createBatch(ctx, model, src, &own, token)
	if err != nil {
		return failed[*genai.BatchJob](fmt.Errorf("gemhook: create batch: %w", err))
	}
	if job == nil || job.Name == "" {
		return failed[*genai.BatchJob](fmt.Errorf("gemhook: create batch: Gemini returned no job name"))
	}
	if f, ok := settledNow(ctx, c, batchKind, job.Name, job.Name, job); ok {
		return f
	}
	return start(ctx, c, batchKind, job.Name, job.Name, token, metadataOf(wc), false)
}

// AwaitBatch attaches to a batch job that already exists, by name
// ("batches/x" or "x"), for example one submitted before a restart. The job
// is fetched once at once, so a job that has already ended settles without
// a webhook; otherwise its webhook or a fallback poll settles it.
func (c *Client) AwaitBatch(name string) *Future[*genai.BatchJob] {
	if name == "" || strings.Count(name, "/") > 1 || (strings.Contains(name, "/") && !strings.HasPrefix(name, "batches/")) {
		return failed[*genai.BatchJob](invalidArg("AwaitBatch(%q): not a batch job name: want \"batches/<id>\"", name))
	}
	if !strings.HasPrefix(name, "batches/") {
		name = "batches/" + name
	}
	return start(context.Background(), c, batchKind, name, name, "", nil, true)
}

var batchKind = &kind[*genai.BatchJob]{
	name: "batch",
	kind: KindBatch,
	get: func(ctx context.Context, c *Client, name string) (*genai.BatchJob, error) {
		job, err := c.genai.Batches.Get(ctx, name, nil)
		if err == nil && job != nil && job.Error == nil && (job.State == genai.JobStateFailed || job.State == genai.JobStateExpired) {
			job.Error = batchError(ctx, c.genai, name)
		}
		return job, err
	},
	settled: batchSettled,
}

// batchSettled follows the Gemini API's terminal states. The job's error
// (see batchError) wins over the event's code and message, which stand in
// when it could not be read.
func batchSettled(job *genai.BatchJob, name string, hint JobEvent) (bool, string, error) {
	if job == nil {
		return false, "", nil
	}
	switch job.State {
	case genai.JobStateSucceeded, genai.JobStatePartiallySucceeded:
		return true, string(job.State), nil
	case genai.JobStateFailed, genai.JobStateCancelled, genai.JobStateExpired:
		je := &JobError{Name: name, State: string(job.State), Code: hint.Code, Message: hint.Message}
		if job.Error != nil {
			if job.Error.Code != nil {
				je.Code = fmt.Sprint(*job.Error.Code)
			}
			if job.Error.Message != "" {
				je.Message = job.Error.Message
			}
		}
		return true, string(job.State), je
	}
	return false, "", nil
}

func wrapGet(kind, name string, err error) error {
	return fmt.Errorf("gemhook: get %s %s: %w", kind, name, err)
}

// maxErrorBody bounds what batchError reads of a batch operation.
const maxErrorBody = 1 << 20

// batchError reads a failed batch's error from the API. Gemini returns it
// as the operation's "error", but genai's conversion for the Gemini API
// drops it, so a job settled by poll or attach would have no code or
// message. It is best effort: nil when the operation cannot be read.
func batchError(ctx context.Context, gc *genai.Client, name string) *genai.JobError {
	cfg := gc.ClientConfig()
	if cfg.HTTPClient == nil || cfg.HTTPOptions.BaseURL == "" {
		return nil
	}
	url := strings.TrimSuffix(cfg.HTTPOptions.BaseURL, "/") + "/" + cfg.HTTPOptions.APIVersion + "/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	for k, vs := range cfg.HTTPOptions.Headers {
		req.Header[k] = append([]string(nil), vs...)
	}
	if cfg.APIKey != "" {
		req.Header.Set("x-goog-api-key", cfg.APIKey)
	}
	res, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil
	}
	var op struct {
		Error *genai.JobError `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(res.Body, maxErrorBody)).Decode(&op) != nil || op.Error == nil {
		return nil
	}
	if op.Error.Code == nil && op.Error.Message == "" {
		return nil
	}
	return op.Error
}

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
			attrErr(err))
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
	e, ok := apiError(err)
	if !ok {
		return false
	}
	if e.Code != http.StatusBadRequest || (e.Status != "" && e.Status != "INVALID_ARGUMENT") {
		return false
	}
	return strings.Contains(e.Message, "userMetadata") || strings.Contains(e.Message, "user_metadata")
}
