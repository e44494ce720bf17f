package gemhook

import (
	"cmp"
	"context"
	"fmt"
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
