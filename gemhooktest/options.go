package gemhooktest

import (
	"net/http"
	"time"
)

// Outcomes a job can end with. Options.Outcome and Server.Finish take them.
const (
	Succeeded      = "succeeded"
	Failed         = "failed"
	Expired        = "expired"
	Cancelled      = "cancelled"
	RequiresAction = "requires_action" // interactions only: the model waits for a function result
)

// Defaults for the zero values of Options.
const (
	DefaultJobDuration    = 20 * time.Millisecond
	DefaultRetryBackoff   = time.Second
	DefaultRetryHorizon   = 24 * time.Hour
	DefaultAttemptTimeout = 10 * time.Second
	DefaultDisableAfter   = 5
	DefaultWorkers        = 8
	DefaultMaxPending     = 100_000
	DefaultMaxJobs        = 100_000
	DefaultLogSize        = 10_000
	DefaultReorderWindow  = 10 * time.Millisecond
	DefaultMaxBodyBytes   = 20 << 20 // Gemini's cap on an inlined batch request
)

// Options configures a Server. The zero value runs jobs for
// DefaultJobDuration, ends them all in success, and delivers without faults.
type Options struct {
	// JobDuration is how long each job runs before it ends by itself.
	// Negative: jobs run until Server.Finish or a cancel call ends them.
	JobDuration time.Duration
	// Outcome chooses how the job with this resource name ends: Succeeded
	// (the default, also for ""), Failed, Expired, Cancelled, or, for
	// interactions, RequiresAction. It runs under the server's lock: keep
	// it quick and do not call the Server from it.
	Outcome func(name string) string
	// RetryBackoff is the delay before the second attempt of a delivery;
	// each later delay doubles, with jitter.
	RetryBackoff time.Duration
	// RetryHorizon bounds the time from a delivery's first attempt to its
	// last. Default 24h, as Gemini documents.
	RetryHorizon time.Duration
	// Faults are applied on top of normal delivery.
	Faults Faults
	// Seed makes faults reproducible: the same creates and job endings,
	// in the same order, draw the same drops, delays, shuffles and early
	// deliveries, whatever the deliveries in between do. Retry jitter and
	// the choice of v1a key come from a second stream seeded alike, drawn
	// in the order attempts run. Zero picks a random seed.
	Seed int64

	// Control serves the control API at ControlPath, for tests that drive
	// the Server over HTTP (the standalone emulator sets it).
	Control bool

	// APIKey, when set, must arrive in x-goog-api-key on every API call.
	APIKey string
	// Addr is where to listen; default "127.0.0.1:0" (a free loopback port).
	Addr string
	// Now is the clock for timestamps (API resources, envelopes and
	// webhook-timestamp). Delays still run on real time. Default time.Now.
	Now func() time.Time
	// AttemptTimeout bounds one delivery attempt. Default 10s.
	AttemptTimeout time.Duration
	// DisableAfter is how many deliveries in a row may exhaust their
	// retries before a project webhook is set to
	// disabled_due_to_failed_deliveries. Default 5; negative: never.
	DisableAfter int
	// JWS signs per-request deliveries with a compact RS256 JWS (as Google's
	// guide documents) instead of v1a (as observed on live traffic).
	JWS bool
	// JWSAudience and JWSIssuer become the "aud" and "iss" claims of JWS
	// deliveries; empty ones are left out of the token (Google documents
	// neither value).
	JWSAudience, JWSIssuer string
	// BareIDs sends data.id without its collection ("abc" instead of
	// "batches/abc"), the other form Gemini's samples suggest.
	BareIDs bool
	// MetadataInData echoes user_metadata inside data instead of at the
	// top level of the envelope.
	MetadataInData bool
	// NoCancelEvents suppresses batch.cancelled and interaction.cancelled,
	// which Google's guide lists but its API's event enum does not.
	NoCancelEvents bool
	// RefuseBatchMetadata answers a batch create whose webhook config has
	// user metadata as the Batch API has (go-genai issue 779): 400
	// INVALID_ARGUMENT, Unknown name "userMetadata" at
	// 'batch.webhook_config', and no job.
	RefuseBatchMetadata bool
	// VideoFileField chooses the file field of video.generated events:
	// "" sends file_name, output_file_uri and video_uri; VideoURIOnly only
	// video_uri (Google's cookbook); OutputFileURIOnly output_file_uri and
	// file_name (Google's docs sample).
	VideoFileField string
	// GoogleFileURIs writes generated files' URIs with the real API's
	// https host instead of the Server's URL. The official SDKs' file
	// downloads take the file id from such a URI and fetch it from their
	// base URL (the Server); the JS and Python SDKs parse only https URIs.
	// Fetched as they are, these URIs would go to Google.
	GoogleFileURIs bool
	// RefuseCancelSubscriptions refuses webhooks that subscribe to
	// batch.cancelled or interaction.cancelled, as an API whose event enum
	// lacks them would; RegisterWebhook then defaults to the other seven.
	RefuseCancelSubscriptions bool
	// Workers bounds concurrent delivery attempts. Default 8.
	Workers int
	// MaxPending bounds queued delivery attempts; beyond it new deliveries
	// are dropped and logged. Default 100,000.
	MaxPending int
	// MaxJobs bounds stored jobs; the oldest ended job is forgotten first,
	// and creates are refused with RESOURCE_EXHAUSTED when none has ended.
	MaxJobs int
	// LogSize bounds the delivery log (a ring). Default 10,000.
	LogSize int
	// OnDelivery, if set, is called after every delivery attempt (and for
	// every dropped event) from the delivering goroutine.
	OnDelivery func(Delivery)
	// OnSecret, if set, is told every signing secret the Server issues
	// (webhook create, rotation, RegisterWebhook), outside its lock.
	OnSecret func(webhookID, uri, secret string)
	// Transport carries deliveries; default: a fresh http.Transport.
	// Redirects are never followed whatever it is.
	Transport http.RoundTripper
}

// Values of Options.VideoFileField.
const (
	VideoURIOnly      = "video_uri"
	OutputFileURIOnly = "output_file_uri"
)

// Faults make delivery misbehave the ways Gemini's at-least-once, unordered
// sender may. Every fault is drawn from the Options.Seed generator. Start
// refuses a share outside 0..1.
type Faults struct {
	Duplicates int           // extra copies of every delivery, with the same webhook-id
	Reorder    bool          // deliveries due within one ReorderWindow go out in shuffled order
	DropRate   float64       // share of events never delivered
	EarlyRate  float64       // share of events delivered before the create call has answered
	MaxDelay   time.Duration // random extra delay before each delivery's first attempt

	ReorderWindow time.Duration // default 10ms
}

func (o Options) withDefaults() Options {
	if o.JobDuration == 0 {
		o.JobDuration = DefaultJobDuration
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.RetryHorizon <= 0 {
		o.RetryHorizon = DefaultRetryHorizon
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.DisableAfter == 0 {
		o.DisableAfter = DefaultDisableAfter
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.MaxJobs <= 0 {
		o.MaxJobs = DefaultMaxJobs
	}
	if o.LogSize <= 0 {
		o.LogSize = DefaultLogSize
	}
	if o.Faults.ReorderWindow <= 0 {
		o.Faults.ReorderWindow = DefaultReorderWindow
	}
	if o.Faults.Duplicates < 0 {
		o.Faults.Duplicates = 0
	}
	return o
}
