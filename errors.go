package gemhook

import (
	"errors"
	"fmt"
)

// Errors returned by Receiver.Verify (and logged by ServeHTTP). Each one
// names a condition callers may branch on with errors.Is; the wrapped text
// adds detail for logs.
var (
	// ErrMissingHeader: webhook-id, webhook-timestamp or webhook-signature
	// is absent, or webhook-signature holds no entry. ServeHTTP answers 400
	// for a missing id or timestamp and 401 for a missing signature.
	ErrMissingHeader = errors.New("gemhook: missing webhook header")
	// ErrInvalidHeader: a webhook-* header is repeated, or webhook-id or
	// webhook-signature is malformed (an id that is empty, too long or has a
	// '.', a signature list that is too long or has too many entries).
	ErrInvalidHeader = errors.New("gemhook: malformed webhook header")
	// ErrInvalidTimestamp: webhook-timestamp is not canonical Unix seconds.
	ErrInvalidTimestamp = errors.New("gemhook: invalid webhook timestamp")
	// ErrTimestampTooOld: the delivery was signed longer ago than the tolerance.
	ErrTimestampTooOld = errors.New("gemhook: webhook timestamp too old")
	// ErrTimestampTooNew: the delivery claims a time further ahead than the tolerance.
	ErrTimestampTooNew = errors.New("gemhook: webhook timestamp too new")
	// ErrNoMatchingSignature: no signature entry verified with any
	// configured secret, or with any key of an up-to-date key set. Treat
	// the delivery as forged.
	ErrNoMatchingSignature = errors.New("gemhook: no matching webhook signature")
	// ErrKeysUnavailable: Gemini's key set could not be fetched, or is older
	// than the allowed staleness, or a signature matched no key held while
	// the set could not be refetched (Google may have added the key during
	// the outage). This is not a forgery: the sender should retry.
	ErrKeysUnavailable = errors.New("gemhook: webhook signing keys unavailable")
	// ErrPayloadTooLarge: the body is larger than ReceiverConfig.MaxBodyBytes.
	ErrPayloadTooLarge = errors.New("gemhook: webhook payload too large")
	// ErrMalformedEvent: the body verified but is not a JSON event envelope.
	ErrMalformedEvent = errors.New("gemhook: malformed webhook event")
	// ErrInvalidSecret: a project-level secret given to NewReceiver or
	// AddSecret is empty, not base64 (with or without "whsec_"), or a
	// key shorter than 24 bytes (Standard Webhooks secrets are 24 to 64).
	ErrInvalidSecret = errors.New("gemhook: invalid webhook secret")
	// ErrClosed: the Receiver or Client has been closed.
	ErrClosed = errors.New("gemhook: closed")
)

// JobError reports a job that ended without success: failed, expired or
// cancelled. Wait returns it together with the job object, so callers that
// need more than the state still have it.
type JobError struct {
	Name    string // resource name, e.g. "batches/abc"
	State   string // terminal state as Gemini reports it, e.g. "JOB_STATE_FAILED"
	Code    string // error code from the API or the event, if any
	Message string // error message from the API or the event, if any
}

func (e *JobError) Error() string { return "gemhook: job " + e.Name + e.outcome() }

// outcome is the message without the name: " ended in STATE (code C: M)".
func (e *JobError) outcome() string {
	s := " ended in " + e.State
	if e.Code != "" || e.Message != "" {
		s += fmt.Sprintf(" (code %s: %s)", e.Code, e.Message)
	}
	return s
}
