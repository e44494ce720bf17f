package gemhooktest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// ControlPath prefixes the control API, served when Options.Control is
// set. It lets a test in any language do what Finish, Redeliver, Jobs and
// Deliveries do in Go; with Options.APIKey it takes the same key:
//
//	POST ControlPath+"finish"     {"name": "batches/x", "outcome": "failed"}  -> the job
//	POST ControlPath+"redeliver"  {"name": "batches/x"}                       -> the job
//	GET  ControlPath+"jobs"                                                  -> {"jobs": [...]}
//	GET  ControlPath+"deliveries"                                            -> {"deliveries": [...]}
//
// Errors come in Google's envelope: 404 NOT_FOUND for an unknown job, 400
// INVALID_ARGUMENT for a bad body or outcome, 400 FAILED_PRECONDITION for a
// job that has already ended (finish) or has not ended yet (redeliver).
const ControlPath = "/gemhooktest/"

// maxControlBody bounds a control request's body.
const maxControlBody = 64 << 10

type controlJob struct {
	Name         string         `json:"name"`
	Kind         string         `json:"kind"`
	Model        string         `json:"model,omitempty"`
	State        string         `json:"state"`
	Outcome      string         `json:"outcome,omitempty"`
	Created      string         `json:"create_time"`
	Ended        string         `json:"end_time,omitempty"`
	URIs         []string       `json:"uris,omitempty"`
	UserMetadata map[string]any `json:"user_metadata,omitempty"`
	MessageID    string         `json:"message_id,omitempty"`
}

func toControlJob(in JobInfo) controlJob {
	out := controlJob{
		Name: in.Name, Kind: in.Kind, Model: in.Model, State: in.State, Outcome: in.Outcome,
		Created: timestamp(in.Created), URIs: in.URIs, UserMetadata: in.UserMetadata, MessageID: in.MessageID,
	}
	if !in.Ended.IsZero() {
		out.Ended = timestamp(in.Ended)
	}
	return out
}

type controlDelivery struct {
	Seq        int64   `json:"seq"`
	MessageID  string  `json:"message_id"`
	Type       string  `json:"type"`
	Resource   string  `json:"resource"`
	URL        string  `json:"url"`
	WebhookID  string  `json:"webhook_id,omitempty"`
	Scheme     string  `json:"scheme,omitempty"`
	Copy       int     `json:"copy"`
	Attempt    int     `json:"attempt"`
	Early      bool    `json:"early,omitempty"`
	Status     int     `json:"status,omitempty"`
	Error      string  `json:"error,omitempty"`
	Result     Result  `json:"result"`
	Start      string  `json:"start_time"`
	DurationMS float64 `json:"duration_ms"`
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	if e := s.checkKey(r); e != nil {
		writeError(w, e)
		return
	}
	op := r.Method + " " + r.URL.Path[len(ControlPath):]
	var v any
	var err error
	switch op {
	case "POST finish":
		v, err = s.controlJob(r, func(name, outcome string) error { return s.Finish(name, outcome) })
	case "POST redeliver":
		v, err = s.controlJob(r, func(name, _ string) error { return s.Redeliver(name) })
	case "GET jobs":
		jobs := []controlJob{}
		for _, j := range s.Jobs() {
			jobs = append(jobs, toControlJob(j))
		}
		v = map[string]any{"jobs": jobs}
	case "GET deliveries":
		ds := []controlDelivery{}
		for _, d := range s.Deliveries() {
			ds = append(ds, controlDelivery{
				Seq: d.Seq, MessageID: d.MessageID, Type: d.Type, Resource: d.Resource, URL: d.URL,
				WebhookID: d.WebhookID, Scheme: d.Scheme, Copy: d.Copy, Attempt: d.Attempt, Early: d.Early,
				Status: d.Status, Error: d.Err, Result: d.Result, Start: timestamp(d.Start),
				DurationMS: float64(d.Duration) / float64(time.Millisecond),
			})
		}
		v = map[string]any{"deliveries": ds}
	default:
		err = notFound("gemhooktest: no control operation %s %s", r.Method, r.URL.Path)
	}
	if err != nil {
		writeError(w, controlError(err))
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// controlJob decodes {"name", "outcome"}, applies do and answers with the job.
func (s *Server) controlJob(r *http.Request, do func(name, outcome string) error) (any, error) {
	var in struct {
		Name    string `json:"name"`
		Outcome string `json:"outcome"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxControlBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, invalidArgument("gemhooktest: control body: %v", err)
	}
	if in.Name == "" {
		return nil, invalidArgument("gemhooktest: control body: name is required")
	}
	if err := do(in.Name, in.Outcome); err != nil {
		return nil, err
	}
	j, _ := s.Job(in.Name)
	return toControlJob(j), nil
}

// controlError maps the Go methods' errors onto the API's codes.
func controlError(err error) *apiError {
	var e *apiError
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, ErrUnknownJob):
		return notFound("%v", err)
	case errors.Is(err, ErrBadOutcome):
		return invalidArgument("%v", err)
	case errors.Is(err, ErrJobEnded), errors.Is(err, ErrJobRunning):
		return failedPrecondition("%v", err)
	case errors.Is(err, ErrClosed):
		return &apiError{Code: http.StatusServiceUnavailable, Message: err.Error(), Status: "UNAVAILABLE"}
	}
	return &apiError{Code: http.StatusInternalServerError, Message: err.Error(), Status: "INTERNAL"}
}
