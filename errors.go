package gemhook

import (
	"errors"
	"fmt"

	"github.com/gemhook/gemhook/internal/keyset"
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
	ErrNoMatchingSignature = keyset.ErrNoMatch // "gemhook: no matching webhook signature"
	// ErrKeysUnavailable: Gemini's key set could not be fetched, or is older
	// than the allowed staleness, or a signature matched no key held while
	// the set could not be refetched (Google may have added the key during
	// the outage). This is not a forgery: the sender should retry.
	ErrKeysUnavailable = keyset.ErrUnavailable // "gemhook: webhook signing keys unavailable"
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

// Errors from PingWebhook and SelfTest, which check the path from Gemini
// to this Receiver. Branch on these two; a *CheckError says why.
var (
	// ErrNotDelivered: the ping or probe never reached this Receiver. The
	// URL was unreachable or redirected, something else answered for it, or
	// no ping arrived before the context ended.
	ErrNotDelivered = errors.New("gemhook: webhook check: not delivered to this receiver")
	// ErrRejected: it reached this Receiver, which refused it.
	ErrRejected = errors.New("gemhook: webhook check: rejected")
)

// CheckReason says why a PingWebhook or SelfTest check failed.
type CheckReason string

// The reasons a check fails. The first three match ErrNotDelivered, the
// others ErrRejected.
const (
	// ReasonNotDelivered: no ping reached the Receiver before the context
	// ended (PingWebhook). Gemini retries a failed ping for hours.
	ReasonNotDelivered CheckReason = "not delivered"
	// ReasonUnreachable: the URL could not be reached, or it redirected,
	// which Gemini does not follow (SelfTest).
	ReasonUnreachable CheckReason = "unreachable"
	// ReasonElsewhere: something answered at the URL, but not this
	// Receiver: another service, a missing route, another process
	// (SelfTest).
	ReasonElsewhere CheckReason = "answered by something else"
	// ReasonRejected: the Receiver refused the delivery; CheckError.Err is
	// its verification error when known, and Detail the likely cause.
	ReasonRejected CheckReason = "rejected"
	// ReasonSignatureMismatch: the ping was signed with a secret this
	// Client holds, yet its signature does not match the bytes that
	// arrived: something on the way changed the body or the webhook-id and
	// webhook-timestamp headers, typically a proxy that re-encodes JSON.
	ReasonSignatureMismatch CheckReason = "signature does not match the delivered body"
	// ReasonWrongSecret: the Receiver does not hold the secret the ping is
	// signed with.
	ReasonWrongSecret CheckReason = "receiver lacks the webhook's signing secret"
	// ReasonBodyAltered: the Receiver accepts a probe whose body is "{}",
	// which every JSON re-encoder writes back unchanged, but refuses one
	// with ordinary JSON, so something on the way re-encodes bodies; Gemini's
	// signatures would fail the same way (SelfTest).
	ReasonBodyAltered CheckReason = "request body altered on the way"
)

// CheckError is the error of a failed PingWebhook or SelfTest. It matches
// ErrNotDelivered or ErrRejected under errors.Is, and unwraps to what was
// observed: the Receiver's verification error (ErrNoMatchingSignature,
// ErrTimestampTooOld, ...), a transport error, or the context's error.
type CheckError struct {
	Check  string      // "ping" or "self-test"
	Target string      // the webhook id (ping) or the URL (self-test)
	Reason CheckReason // why it failed
	Detail string      // what was seen and what to do about it; may be empty
	Err    error       // the underlying error; may be nil
}

func (e *CheckError) Error() string {
	s := "gemhook: " + e.Check + " " + e.Target + ": " + string(e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Detail != "" {
		s += "; " + e.Detail
	}
	return s
}

func (e *CheckError) Unwrap() error { return e.Err }

// Is matches ErrNotDelivered or ErrRejected, whichever e's reason falls
// under.
func (e *CheckError) Is(target error) bool {
	switch e.Reason {
	case ReasonNotDelivered, ReasonUnreachable, ReasonElsewhere:
		return target == ErrNotDelivered
	}
	return target == ErrRejected
}
