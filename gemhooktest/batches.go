package gemhooktest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// batchCreate is the body of models/{m}:batchGenerateContent.
type batchCreate struct {
	Batch *struct {
		DisplayName      string         `json:"displayName"`
		DisplayNameSnake string         `json:"display_name"`
		InputConfig      *batchInput    `json:"inputConfig"`
		InputConfigSnake *batchInput    `json:"input_config"`
		Webhook          *webhookConfig `json:"webhookConfig"`
		WebhookSnake     *webhookConfig `json:"webhook_config"`
	} `json:"batch"`
}

type batchInput struct {
	FileName      string `json:"fileName"`
	FileNameSnake string `json:"file_name"`
	Requests      *struct {
		Requests []struct {
			Request  json.RawMessage   `json:"request"`
			Metadata map[string]string `json:"metadata"`
		} `json:"requests"`
	} `json:"requests"`
}

func (s *Server) createBatch(r *http.Request, model string) (any, error) {
	var in batchCreate
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	b := in.Batch
	if b == nil {
		return nil, invalidArgument("batch is required")
	}
	input := cmp.Or(b.InputConfig, b.InputConfigSnake)
	if input == nil {
		return nil, invalidArgument("batch.inputConfig is required")
	}
	file := cmp.Or(input.FileName, input.FileNameSnake)
	hasReqs := input.Requests != nil
	switch {
	case file != "" && hasReqs:
		return nil, invalidArgument("batch.inputConfig: give fileName or requests, not both")
	case file == "" && !hasReqs:
		return nil, invalidArgument("batch.inputConfig: fileName or requests is required")
	case hasReqs && len(input.Requests.Requests) == 0:
		return nil, invalidArgument("batch.inputConfig.requests.requests is empty")
	}
	j := &job{
		kind: kindBatch, name: "batches/" + randomID(24), model: "models/" + model,
		displayName: cmp.Or(b.DisplayName, b.DisplayNameSnake), inputFile: file,
	}
	if hasReqs {
		j.requests = make([]map[string]string, len(input.Requests.Requests))
		for i, rq := range input.Requests.Requests {
			if len(rq.Request) == 0 || string(rq.Request) == "null" {
				return nil, invalidArgument("batch.inputConfig.requests.requests[%d].request is required", i)
			}
			j.requests[i] = rq.Metadata
		}
	} else {
		j.outputFile = "files/" + randomID(16)
	}
	hook := cmp.Or(b.Webhook, b.WebhookSnake)
	if err := hook.check("batch.webhookConfig"); err != nil {
		return nil, err
	}
	if s.opts.RefuseBatchMetadata {
		if err := hook.refuseMetadata(); err != nil {
			return nil, err
		}
	}
	j.uris, j.metadata = hook.uris(), hook.metadata()
	return s.startJob(r, j, func() any { return s.batchLRO(j) })
}

// batchLRO is a batch as Gemini reports it: a google.longrunning.Operation
// whose metadata is the GenerateContentBatch. genai reads only name and
// metadata; done, error and response are there for other clients.
func (s *Server) batchLRO(j *job) map[string]any {
	stats := map[string]string{"requestCount": strconv.Itoa(max(len(j.requests), 1))}
	n := stats["requestCount"]
	switch j.outcome {
	case "":
		stats["pendingRequestCount"] = n
	case Succeeded:
		stats["successfulRequestCount"] = n
	default:
		stats["failedRequestCount"] = n
	}
	meta := map[string]any{
		"@type":      "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
		"name":       j.name,
		"model":      j.model,
		"state":      j.state(),
		"createTime": timestamp(j.created),
		"updateTime": timestamp(j.updated),
		"batchStats": stats,
	}
	if j.displayName != "" {
		meta["displayName"] = j.displayName
	}
	if j.inputFile != "" {
		meta["inputConfig"] = map[string]any{"fileName": j.inputFile}
	}
	op := map[string]any{"name": j.name, "metadata": meta}
	if !j.settled() {
		return op
	}
	meta["endTime"] = timestamp(j.ended)
	op["done"] = true
	if j.outcome != Succeeded {
		op["error"] = map[string]any{"code": rpcCode(j.outcome), "message": j.reason}
		return op
	}
	var output map[string]any
	if j.outputFile != "" {
		output = map[string]any{"responsesFile": j.outputFile}
	} else {
		resps := make([]map[string]any, len(j.requests))
		for i, md := range j.requests {
			resps[i] = map[string]any{"response": fakeResponse(j.model, i)}
			if md != nil {
				resps[i]["metadata"] = md
			}
		}
		output = map[string]any{"inlinedResponses": map[string]any{"inlinedResponses": resps}}
	}
	meta["output"] = output
	op["response"] = map[string]any{
		"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput",
	}
	for k, v := range output {
		op["response"].(map[string]any)[k] = v
	}
	return op
}

// fakeResponse is a GenerateContentResponse with one short candidate.
func fakeResponse(model string, i int) map[string]any {
	return map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{map[string]any{"text": fmt.Sprintf("gemhooktest response %d", i+1)}}},
			"finishReason": "STOP",
		}},
		"modelVersion": model[len("models/"):],
	}
}

func (s *Server) batchLocked(name string) (*job, error) {
	j := s.jobs[name]
	if j == nil || j.kind != kindBatch {
		return nil, notFound("Requested entity was not found. (batch %s)", name)
	}
	return j, nil
}

func (s *Server) getBatch(_ *http.Request, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.batchLocked(name)
	if err != nil {
		return nil, err
	}
	return s.batchLRO(j), nil
}

func (s *Server) cancelBatch(_ *http.Request, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.batchLocked(name)
	if err != nil {
		return nil, err
	}
	if j.settled() {
		return nil, failedPrecondition("batch %s has already ended in %s", j.name, j.state())
	}
	s.endLocked(j, Cancelled, "gemhooktest: cancelled by the caller", false)
	return struct{}{}, nil
}

func (s *Server) deleteBatch(_ *http.Request, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.batchLocked(name); err != nil {
		return nil, err
	}
	delete(s.jobs, name)
	return struct{}{}, nil
}

func (s *Server) listBatches(r *http.Request, _ string) (any, error) {
	size, after, err := pageArgs(r.URL.Query(), "pageSize", "pageToken")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		Operations    []map[string]any `json:"operations"`
		NextPageToken string           `json:"nextPageToken,omitempty"`
	}{Operations: []map[string]any{}}
	var last uint64
	for _, j := range s.sortedJobsLocked(func(j *job) bool { return j.kind == kindBatch && j.seq > after }) {
		if len(out.Operations) == size {
			out.NextPageToken = pageToken(last)
			break
		}
		out.Operations = append(out.Operations, s.batchLRO(j))
		last = j.seq
	}
	return out, nil
}

// startJob stores j and answers its create call with respond(). With
// Faults.EarlyRate the job may end, and its event be delivered, before the
// answer goes out.
func (s *Server) startJob(r *http.Request, j *job, respond func() any) (any, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, &apiError{Code: http.StatusServiceUnavailable, Message: "gemhooktest: server closed", Status: "UNAVAILABLE"}
	}
	if err := s.addJobLocked(j); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	out := respond()
	var waits []chan struct{}
	if f := s.opts.Faults.EarlyRate; f > 0 && j.outcome == "" && s.rng.Float64() < f {
		o := Succeeded
		if s.opts.Outcome != nil {
			o = cmp.Or(s.opts.Outcome(j.name), Succeeded)
		}
		if !validOutcome(j.kind, o) {
			o = Failed
		}
		j.answered = true
		waits = s.endLocked(j, o, "", true)
	}
	j.answered = true
	s.mu.Unlock()
	timeout := time.NewTimer(s.opts.AttemptTimeout + time.Second)
	defer timeout.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-r.Context().Done():
		case <-timeout.C:
		}
	}
	return out, nil
}
