package gemhooktest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Errors returned by the Server's Go methods.
var (
	ErrUnknownJob     = errors.New("gemhooktest: no such job")
	ErrJobEnded       = errors.New("gemhooktest: job has already ended")
	ErrJobRunning     = errors.New("gemhooktest: job has not ended yet")
	ErrBadOutcome     = errors.New("gemhooktest: unknown outcome")
	ErrUnknownWebhook = errors.New("gemhooktest: no such webhook")
	ErrClosed         = errors.New("gemhooktest: server closed")
)

// apiError is an error the API answers with, in Google's envelope.
type apiError struct {
	Code    int              `json:"code"`
	Message string           `json:"message"`
	Status  string           `json:"status"`
	Details []map[string]any `json:"details,omitempty"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Code, e.Status, e.Message) }

func invalidArgument(format string, args ...any) *apiError {
	return &apiError{Code: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), Status: "INVALID_ARGUMENT"}
}

func failedPrecondition(format string, args ...any) *apiError {
	return &apiError{Code: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), Status: "FAILED_PRECONDITION"}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{Code: http.StatusNotFound, Message: fmt.Sprintf(format, args...), Status: "NOT_FOUND"}
}

func exhausted(format string, args ...any) *apiError {
	return &apiError{Code: http.StatusTooManyRequests, Message: fmt.Sprintf(format, args...), Status: "RESOURCE_EXHAUSTED"}
}

// writeJSON answers with v. Every answer is application/json: genai's
// interactions and webhooks stack refuses anything else, even on success.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"error":{"code":500,"message":"gemhooktest: encoding the response failed","status":"INTERNAL"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Code, struct {
		Error *apiError `json:"error"`
	}{e})
}

// writeInteractionError answers for the interactions endpoints, whose
// schema (as genai v1.77.0 declares it) has a string code: a numeric one
// would make genai report a schema mismatch instead of the error.
func writeInteractionError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.Code, map[string]any{"error": map[string]any{
		"code": strings.ToLower(e.Status), "message": e.Message, "status": e.Status,
	}})
}
