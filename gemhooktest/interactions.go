package gemhooktest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// interactionCreate is the body of POST /interactions (snake_case).
type interactionCreate struct {
	Model      string          `json:"model"`
	Agent      json.RawMessage `json:"agent"`
	Input      json.RawMessage `json:"input"`
	Background *bool           `json:"background"`
	Stream     *bool           `json:"stream"`
	Webhook    *webhookConfig  `json:"webhook_config"`
	PrevID     string          `json:"previous_interaction_id"`
}

func (s *Server) createInteraction(r *http.Request, _ string) (any, error) {
	var in interactionCreate
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	hasAgent := len(in.Agent) > 0 && string(in.Agent) != "null"
	background := in.Background != nil && *in.Background
	switch {
	case in.Model == "" && !hasAgent:
		return nil, invalidArgument("model or agent is required")
	case in.Model != "" && hasAgent:
		return nil, invalidArgument("give model or agent, not both")
	case len(in.Input) == 0 || string(in.Input) == "null":
		return nil, invalidArgument("input is required")
	case in.Webhook != nil && !background:
		return nil, invalidArgument("webhook_config requires background: true")
	case in.Stream != nil && *in.Stream:
		return nil, invalidArgument("gemhooktest does not stream interactions")
	}
	if err := in.Webhook.check("webhook_config"); err != nil {
		return nil, err
	}
	if in.PrevID != "" {
		s.mu.Lock()
		prev := s.lookupLocked(in.PrevID)
		s.mu.Unlock()
		if prev == nil || prev.kind != kindInteraction {
			return nil, notFound("previous_interaction_id %q not found", in.PrevID)
		}
	}
	j := &job{
		kind: kindInteraction, name: "v1_" + randomID(24), model: in.Model, prevID: in.PrevID,
		inFlight: background, uris: in.Webhook.uris(), metadata: in.Webhook.metadata(),
	}
	if hasAgent {
		j.agent = in.Agent
	}
	var text string
	if json.Unmarshal(in.Input, &text) == nil {
		j.input = text
	}
	if !background {
		// A foreground interaction answers with its result; no webhook.
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.addJobLocked(j); err != nil {
			return nil, err
		}
		j.answered = true
		j.outcome, j.ended = Succeeded, j.created
		return s.interactionJSON(j), nil
	}
	return s.startJob(r, j, func() any { return s.interactionJSON(j) })
}

type interactionJSON struct {
	ID                    string          `json:"id"`
	Status                string          `json:"status"`
	Model                 string          `json:"model,omitempty"`
	Agent                 json.RawMessage `json:"agent,omitempty"`
	Created               string          `json:"created"`
	Updated               string          `json:"updated"`
	PreviousInteractionID string          `json:"previous_interaction_id,omitempty"`
	Steps                 []any           `json:"steps,omitempty"`
	Errors                []any           `json:"errors,omitempty"`
	Usage                 map[string]int  `json:"usage,omitempty"`
	WebhookConfig         *wireConfig     `json:"webhook_config,omitempty"`
}

// interactionJSON is an interaction as Gemini reports it.
func (s *Server) interactionJSON(j *job) *interactionJSON {
	out := &interactionJSON{
		ID: j.name, Status: j.state(), Model: j.model, Agent: j.agent,
		Created: timestamp(j.created), Updated: timestamp(j.updated), PreviousInteractionID: j.prevID,
	}
	if len(j.uris) > 0 || len(j.metadata) > 0 {
		out.WebhookConfig = &wireConfig{Uris: j.uris, UserMetadata: j.metadata}
	}
	if j.input != "" {
		out.Steps = append(out.Steps, map[string]any{
			"type": "user_input", "content": []any{map[string]any{"type": "text", "text": j.input}},
		})
	}
	switch j.outcome {
	case Succeeded:
		out.Steps = append(out.Steps, map[string]any{
			"type": "model_output", "content": []any{map[string]any{"type": "text", "text": "gemhooktest answer to " + j.name}},
		})
		out.Usage = map[string]int{"total_tokens": 12}
	case RequiresAction:
		out.Steps = append(out.Steps, map[string]any{
			"type": "function_call", "id": "call_" + strings.TrimPrefix(j.name, "v1_")[:8],
			"name": "gemhooktest_action", "arguments": map[string]any{},
		})
	case Failed, Expired:
		out.Errors = append(out.Errors, map[string]any{"code": rpcName(j.outcome), "message": j.reason})
	}
	return out
}

func (s *Server) interactionLocked(id string) (*job, error) {
	j := s.jobs[id]
	if j == nil || j.kind != kindInteraction {
		return nil, notFound("Interaction %q not found.", id)
	}
	return j, nil
}

func (s *Server) getInteraction(_ *http.Request, id string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.interactionLocked(id)
	if err != nil {
		return nil, err
	}
	return s.interactionJSON(j), nil
}

// cancelInteraction cancels a background interaction that is running or
// waiting for action.
func (s *Server) cancelInteraction(_ *http.Request, id string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.interactionLocked(id)
	if err != nil {
		return nil, err
	}
	if !j.inFlight {
		return nil, failedPrecondition("only background interactions can be cancelled")
	}
	if j.settled() {
		return nil, failedPrecondition("interaction %s has already ended in %s", j.name, j.state())
	}
	s.endLocked(j, Cancelled, "gemhooktest: cancelled by the caller", false)
	return s.interactionJSON(j), nil
}

func (s *Server) deleteInteraction(_ *http.Request, id string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.interactionLocked(id); err != nil {
		return nil, err
	}
	delete(s.jobs, id)
	return struct{}{}, nil
}
