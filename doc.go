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
// itself. Package gemhooktest emulates Gemini, including its webhook
// sender, so all of this runs offline in tests.
//
// A Receiver is an http.Handler: mount it on your own server, or run its
// embedded one with ListenAndServe or Serve. Several Clients (one per
// tenant API key, say) may share one Receiver. Receiver and Client both
// start goroutines (key set refreshes, fallback polls, confirming gets);
// Close (and Receiver.Shutdown) stops them.
//
// # Delivery semantics
//
// Gemini delivers each event at least once, retries failed deliveries with
// exponential backoff for 24 hours, and does not order them. The Receiver
// answers 2xx to every verified delivery it has taken, including
// duplicates, events of types it does not know, and events for jobs no
// Client here waits for: a 4xx would only start a day of retries. It
// remembers each delivery (by Event.DedupeKey, for 25 hours) and each job's
// outcome (for 25 hours), so a retried or duplicated delivery settles
// nothing twice. Identical deliveries that arrive together are dispatched
// once; the others wait for that outcome and share it. Only a delivery that
// was taken is remembered, so a retry after a 503 is dispatched afresh.
//
// The first outcome of a job wins; a later, contradicting event is
// ignored. An event that arrives before the create call that started its
// job has returned is kept and read when the job is registered; when the
// Store cannot keep it (the in-memory one holds events for up to 10,000
// unregistered jobs, for 10 minutes) the Receiver answers 503 and Gemini
// retries later.
//
// All of this state lives in the Receiver's Store. Without one
// (ReceiverConfig.Store nil) it is a MemoryStore and holds inside one
// process. With a shared one (modules pgstore and redisstore) it holds for
// a whole service: a delivery may land on any replica and the job's waiter
// sit on another; the replica that takes a delivery writes it to the Store
// before it answers 2xx (a Store error is a 503, so Gemini retries and
// nothing is lost), and the Store's hint wakes the waiter wherever it is,
// which reads the event back. Hints are only hints: a waiter subscribes
// before it reads, and reads again after every reconnect. Duplicates are
// absorbed cluster-wide, one replica at a time asks the API about a job
// (a lease on the Store's clock), the replica that settles a job records
// its outcome with the job itself, so the other waiters settle without a
// call of their own, and Client.Pending lists what a restarted replica
// should attach to again.
//
// A webhook is a claim and the API is the truth: on a terminal event the
// Client fetches the job once through genai and settles the Future with
// what the API reports. A job whose delivery was lost (a deploy, an outage
// longer than Gemini's retries) is still noticed: each pending job is
// polled, rarely, after Fallback.After and then with jittered backoff up to
// Fallback.Every. A job attached with Await* that no webhook will report is
// polled every Fallback.Unreported instead, as a polling loop would. Dispatch never waits on the network, so the Receiver
// acknowledges in microseconds. OnEvent runs once per new event, inside the
// request and after dispatch; keep it fast. A panic in it is logged and the
// delivery is still acknowledged.
//
// Event.UserMetadata is the job's user_metadata as Gemini echoed it,
// decoded into a map. The Receiver reads gemhook's correlation token
// (TokenKey) straight from the raw bytes, never from that map.
//
// # Security
//
// Nothing unauthenticated changes state: no remembered webhook-id, parked
// event, log line about a job, or Future is touched before a delivery's
// signature and timestamp (and, for a JWS, its claims) are verified, so a
// forged request carrying a genuine upcoming webhook-id cannot block the
// genuine delivery. The checks run cheapest first: method; media type
// (application/json, or none given; compressed bodies are refused, never
// decompressed);
// size (MaxBodyBytes, 64 KiB by default, read under http.MaxBytesReader
// into a buffer that grows as bytes arrive, never sized from a declared
// Content-Length; a body stalled past the server's ReadTimeout gets 408);
// the presence, once each and under one spelling (a hand-built header map
// holding Webhook-Id and webhook-id is ErrInvalidHeader), and strict syntax of webhook-id (at most 256 bytes, no '.', spaces
// or control characters), webhook-timestamp (canonical decimal Unix
// seconds, within Tolerance either way) and webhook-signature (at most 16
// entries and 16 KiB; entries of unknown versions are skipped); then the
// signature over the exact bytes received; only then is the JSON decoded.
//
// Project-level webhooks are signed with Standard Webhooks v1: HMAC-SHA256
// keyed with a whsec_ secret (accepted with or without the prefix, padded
// or not; a key shorter than 24 bytes is refused, as Standard Webhooks
// secrets are 24 to 64 bytes), compared in constant time against every configured secret, so
// a rotation (AddSecret, RemoveSecret, Client.RotateWebhookSecret) keeps
// deliveries flowing while both secrets are valid.
//
// Per-request webhooks are signed with keys Gemini publishes as a JWKS at
// GeminiJWKSURL, and are accepted only when ReceiverConfig.JWKSURL is set;
// a Receiver without it takes project secrets only, answers v1a and JWS
// entries 401, and never fetches a key set. Sources disagree on the form: deliveries seen on
// live traffic carry Standard Webhooks v1a (Ed25519 over the same
// id.timestamp.body, with no key id, so each published key is tried, the
// last one that matched first), while Google's guide documents an RS256
// compact JWS in webhook-signature. The Receiver accepts both, chooses by
// the entry's shape, and reports which one verified in Event.Scheme. A
// JWS must be compact, at most 16 KiB, signed with RS256 or EdDSA by a key
// of the matching type named by a short kid; jku, x5u, jwk, x5c and crit
// headers are refused and never followed, and a typ, when present, must
// be JWT or JOSE (an "at+jwt" or other explicitly typed token was minted
// for something else). Its exp is required, iat and nbf
// may be at most a minute ahead, its lifetime is at most an hour, aud is
// checked when Audience is set (Google documents no audience for these
// tokens yet; set Audience once it does, so that a token minted for
// another receiver is refused) and iss, when present, against Issuer. The
// token is bound to the delivery: its type and data claims must equal the
// body's, so a captured token cannot vouch for another event or job. A JWS
// covers neither webhook-id nor webhook-timestamp, so those headers steer
// nothing for one: it is deduplicated on the token itself
// (Event.DedupeKey), never on its webhook-id, so a captured token replayed
// under chosen ids can neither pass for a new event, nor mark a genuine
// delivery's id as seen, nor flush the dedupe window. Callers of Verify
// who dedupe for themselves should key on DedupeKey, not ID.
//
// What a per-request signature proves is that Gemini sent the delivery, not
// that the job is yours: every Gemini customer's per-request deliveries are
// signed with the same published keys, and any of them may point a job's
// webhook at your URL. So each job a Client submits with a webhook URL or
// metadata carries a random correlation token (TokenKey) in its metadata,
// and only events that echo that token count as evidence for it: their
// error code and message may stand in where the API gives none. An event
// with another token is ignored; one with no token at all may at most wake
// a get of the job, once a minute, and never speaks for its outcome, which
// comes from the API. A project job submitted without metadata carries no
// token; when one Receiver holds several projects' secrets (one per
// tenant), give each tenant's Client its own (Config.Secrets): events that
// another secret verified are then treated as events without a token, so
// one tenant's secret cannot settle, or write the error of, another
// tenant's job.
//
// The key set is fetched only when a per-request delivery first needs it,
// with a 10 second timeout, no redirects, and caps on the body (256 KiB)
// and the number of keys (32); only Ed25519 and 2048 to 8192-bit RSA
// signing keys are kept. It is refreshed in the background; an unknown kid
// or an unmatched v1a signature refetches it at most once per 30 seconds,
// so forged key ids cannot flood Google. A signature that matches no key
// held while the set cannot be refetched is ErrKeysUnavailable, not a
// forgery: the key may have been added during the outage. A failed
// refresh keeps the last good set for up to 24 hours, after which
// verification fails closed. v1a tries the first 8 Ed25519 keys, and a v1a
// delivery costs at most 16 Ed25519 checks (2 entries against 8 keys, the
// refetched set trying only keys it had not), each hashing the body. A
// delivery that matches no key held while a key was left out for one of
// these caps could not be checked either: ErrKeysUnavailable (503, and a
// Warn in the log), never a 401 that would lose a genuine event.
//
// What a per-request signature proves: that Gemini sent the delivery, with
// the body it signed. It does not prove that the job is yours: every
// Gemini customer's per-request deliveries are signed with the same
// published keys, and any of them can point a job's webhook at your URL.
// A v1a signature covers webhook-id and webhook-timestamp; a JWS covers
// neither, only its own claims (whose type and data must equal the
// body's). So per-request acceptance is opt-in (ReceiverConfig.JWKSURL),
// and a job submitted with a correlation token (TokenKey in its user
// metadata) is settled only by events that carry that token, with the
// outcome read from the API. Project-level (v1) deliveries prove more: the
// sender holds your project's secret.
//
// Error responses are generic; what failed is only logged. A Receiver never
// answers 3xx or 410, which would make a sender stop delivering.
//
// # Observability
//
// Future.Settlement says how a settled job was noticed (webhook, poll,
// attach, or another replica's outcome in the Store) and how long after it
// ended. A job submitted here that settles by poll is logged at Warn with
// the likely causes; rejected deliveries are logged at Warn by the class of
// their error, through a token bucket on the Receiver's clock, so that a
// flood of forgeries costs a few records a minute. Spans and metrics go
// through the OpenTelemetry API to Config's and ReceiverConfig's
// TracerProvider and MeterProvider, or the global ones: the submission is
// a child of the caller's span, each delivery a server span linked to it,
// and the confirming get and the settle join its trace on any replica
// (PendingJob.Trace). No record, span or metric holds a secret, an API
// key, a signature, a body, metadata or a correlation token. The README's
// Observability section lists them all.
//
// # Errors
//
// Verify returns errors that work with errors.Is, and ServeHTTP answers
// them as follows:
//
//	ErrMissingHeader        400 (id or timestamp), 401 (signature)
//	ErrInvalidHeader        400
//	ErrInvalidTimestamp     400
//	ErrTimestampTooOld      401
//	ErrTimestampTooNew      401
//	ErrNoMatchingSignature  401
//	ErrKeysUnavailable      503 with Retry-After: not a forgery, the sender retries
//	ErrPayloadTooLarge      413
//	ErrMalformedEvent       400 (verified, but not a JSON object)
//
// ServeHTTP also answers 405 to methods other than POST, 408 to a body
// stalled past the server's ReadTimeout, 415 to a media type other than
// application/json or a compressed body, and 503 with Retry-After when the
// Receiver is closed or cannot take the event now. NewReceiver and
// AddSecret return ErrInvalidSecret for an empty, undecodable or too short
// (under 24 bytes) secret; New and NewReceiver return ErrInvalidConfig,
// saying what to change, for example for a WebhookURL whose Receiver has no
// JWKSURL. Submit*, GenerateVideos, CreateInteraction and Await* check their
// arguments before any call to Gemini (a model and a source present, user
// metadata that encodes as JSON, a job name of the right shape): their
// futures fail with ErrInvalidArgument, saying what to change.
//
// Future.Wait returns the job on success; the job and a *JobError
// (errors.As) when it ended failed, expired or cancelled; the genai error,
// wrapped, when submission failed (with ErrMetadataRefused when the Batch
// API refused user metadata the caller asked for); ctx.Err() when the caller gave up (the
// Future stays pending and may be waited on again); ErrClosed when the
// Client, or the Receiver it was built on, was closed first. Closing a
// Receiver closes its Clients, and New refuses a closed Receiver with
// ErrClosed. Future.SubmitErr reports the submission's error without
// blocking, since the creating calls return after Gemini has answered;
// WaitAll's error is a *WaitAllError listing each failed future once.
// PingWebhook and SelfTest return a *CheckError: errors.Is tells
// ErrNotDelivered from ErrRejected, its Reason says why, and it wraps the
// Receiver's verification error where there was one.
package gemhook
