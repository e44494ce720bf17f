// Package gemhook lets Go programs wait for Gemini's long-running jobs
// (Batch API jobs, Veo video generations, background Interactions) without
// polling. It wraps google.golang.org/genai: a Client submits each job with
// the right webhook configuration, a Receiver verifies the signed webhook
// Gemini POSTs when the job ends, and the job's Future resolves:
//
//	job, err := client.SubmitBatch(ctx, "gemini-3.5-flash", src, nil).Wait(ctx)
//
// Every Gemini call (create, get, cancel, webhook management) is made by
// the genai client you pass in; gemhook never speaks Gemini's REST API
// itself. Package gemhooktest emulates Gemini, including its webhook sender,
// so all of this runs offline in tests.
//
// # Delivery semantics
//
// Gemini delivers each event at least once, retries failed deliveries with
// backoff for 24 hours, and does not order them. The Receiver answers any
// verified delivery it has taken with 2xx, including duplicates, events of
// types it does not know, and events for jobs no Client here waits for; a
// 4xx would only start a day of retries. It remembers each webhook-id for a
// bounded time and number, and each job's terminal outcome for at least 24
// hours, so a retried or duplicated delivery resolves nothing twice. The
// first terminal event for a job wins; a later, contradicting one is logged
// and ignored. An event that arrives before the create call that started
// its job has returned is parked (in a bounded buffer with a time limit)
// and claimed when the job is registered.
//
// A webhook is a claim and the API is the truth: on a terminal event the
// Client fetches the job once through genai and resolves the Future with
// what the API reports. A job whose delivery was lost (a deploy, an outage
// longer than Gemini's retries) is still noticed: each pending job is
// polled, rarely, after Fallback.After and then with jittered backoff up to
// Fallback.Every.
//
// # Security
//
// Nothing unauthenticated changes state: no duplicate entry, parked event,
// log line about a job or future is touched before the delivery's
// signature and timestamp (and, for a JWS, its claims) are verified. The
// checks run cheapest first: method, content type and size; the presence
// and strict syntax of webhook-id (no '.', bounded length),
// webhook-timestamp (canonical decimal seconds, within Tolerance each way)
// and webhook-signature (at most 16 entries); then the signature, over the
// exact bytes received; only then is the JSON decoded.
//
// Project-level webhooks are signed with Standard Webhooks v1: HMAC-SHA256
// with a whsec_ secret, compared in constant time against every configured
// secret, so a rotation keeps deliveries flowing while both secrets are
// valid. Per-request webhooks are signed with keys Gemini publishes as a
// JWKS. Sources disagree on the form: deliveries seen on live traffic carry
// Standard Webhooks v1a (Ed25519 over the same content), while Google's
// guide documents an RS256 JWS in webhook-signature. The Receiver accepts
// both, chosen by the entry's shape, and reports which one verified in
// Event.Scheme. Error responses are generic; the reason is only logged.
//
// # Errors
//
// Verify returns errors that work with errors.Is: ErrMissingHeader,
// ErrInvalidHeader, ErrInvalidTimestamp, ErrTimestampTooOld,
// ErrTimestampTooNew, ErrNoMatchingSignature, ErrKeysUnavailable,
// ErrPayloadTooLarge and ErrMalformedEvent. ServeHTTP maps them to 400,
// 401, 413 or 503 (with Retry-After); it never answers 3xx or 410, which
// would make a sender stop.
//
// Future.Wait returns the job on success; the job and a *JobError
// (errors.As) when it ended failed, expired or cancelled; the genai error,
// wrapped, when submission failed; ctx.Err() when the caller gave up (the
// Future stays pending and may be waited on again); ErrClosed when the
// Client was closed.
package gemhook
