// Package gemhooktest emulates the Gemini Developer API and its webhook
// sender on loopback, so that code built on google.golang.org/genai and
// gemhook runs in tests with no network and no API key:
//
//	emu := gemhooktest.NewServer(gemhooktest.Options{})
//	defer emu.Close()
//	secret := emu.RegisterWebhook(receiverURL)  // a project webhook
//	gc, err := genai.NewClient(ctx, emu.ClientConfig())
//
// The Server answers genai's batch, video-operation, interaction and
// webhook calls under /v1beta and /v1 in the shapes genai v1.77.0 parses
// (camelCase long-running operations for batches and videos, snake_case for
// interactions and webhooks, Google's error envelope, and Content-Type
// application/json, which genai's webhooks stack requires). A job ends after
// Options.JobDuration, or when Server.Finish ends it, and the Server then
// POSTs its event:
//
//   - to every enabled project webhook subscribed to the event type, signed
//     Standard Webhooks v1 with one entry per unexpired secret, newest first;
//   - or, when the job carried webhook URIs, only to those, signed v1a
//     (Ed25519) with a key published at JWKSURL, or with an RS256 JWS when
//     Options.JWS is set.
//
// Every attempt of one event carries the same webhook-id and body, with the
// webhook-timestamp and signature of that attempt. Failed attempts (anything but 2xx;
// redirects are not followed) are retried with exponential backoff and
// jitter until Options.RetryHorizon, and a project webhook whose deliveries
// keep failing is set to disabled_due_to_failed_deliveries. Faults adds the
// misbehaviour an at-least-once, unordered sender is allowed; Deliveries
// and Calls report what happened.
//
// To forge one delivery instead, SignV1 signs a body with a project
// webhook's secrets, and Server.Sign with the Server's keys, as the Server
// signs its own: either returns the headers to post with the body or to
// pass to a Receiver's Verify.
//
// Where Gemini's documentation is silent the Server makes a choice, which
// Options can change: user_metadata at the top level of the envelope
// (MetadataInData), data.id as the full resource name (BareIDs), and the
// cancellation events of Google's guide (NoCancelEvents). Pings carry the
// type PingType, a name of the emulator's own.
//
// Other Options reproduce known quirks of the real API, so that code can be
// tested against them: RefuseBatchMetadata (the Batch API's refusal of
// userMetadata, go-genai issue 779), VideoFileField (video_uri or
// output_file_uri alone) and RefuseCancelSubscriptions (an event enum
// without the cancellations).
//
// For tests in other languages, Options.Control serves the control API at
// ControlPath (Finish, Redeliver, Jobs and Deliveries over HTTP), and
// Options.GoogleFileURIs writes file URIs that the official SDKs' downloads
// accept; cmd/gemhook-emulator sets both.
package gemhooktest
