// Command gemhook-emulator runs gemhooktest's offline Gemini emulator as a
// standalone server, for curl, other languages and local development
// without a public URL:
//
//	go run ./cmd/gemhook-emulator -addr 127.0.0.1:8089
//
// Point a genai client's HTTPOptions.BaseURL (or GOOGLE_GEMINI_BASE_URL) at
// the printed URL, register a webhook through the API (or with -webhook),
// and jobs you create end after -job-duration with a signed delivery. It
// prints the signing secrets it issues and one line per delivery attempt.
// A control API under /gemhooktest/ ends a job with a chosen outcome and
// redelivers its event, so tests in any language can drive it (see -h).
// Flags set the emulator's faults and the real API's known quirks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gemhook/gemhook/gemhooktest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gemhook-emulator:", err)
		}
		os.Exit(2)
	}
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// usage is the text of -h: what the command does and its control API.
const usage = `gemhook-emulator runs an offline Gemini API (batches, Veo videos, background
interactions, webhooks) that delivers signed webhooks when jobs end.

Usage: gemhook-emulator [flags]

Control API (on the same address; with -api-key it takes the same
x-goog-api-key header). Errors use Google's envelope: 404 NOT_FOUND,
400 INVALID_ARGUMENT, 400 FAILED_PRECONDITION.

  POST /gemhooktest/finish     {"name": "batches/x", "outcome": "failed"}
       ends a job now: succeeded, failed, expired, cancelled, or for an
       interaction requires_action (which may be finished again)
  POST /gemhooktest/redeliver  {"name": "batches/x"}
       sends the job's last event again, with the same webhook-id
  GET  /gemhooktest/jobs       every job, oldest first
  GET  /gemhooktest/deliveries the delivery log

Flags:
`

// run serves until ctx ends. Output goes to out through one lock, since
// secrets and deliveries are reported from several goroutines.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("gemhook-emulator", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprint(errOut, usage)
		fs.PrintDefaults()
	}
	var o gemhooktest.Options
	var (
		outcome   = fs.String("outcome", gemhooktest.Succeeded, "how jobs end by themselves: succeeded, failed, expired, cancelled, or requires_action (interactions; other jobs succeed)")
		hookFlags listFlag
	)
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8089", "listen address")
	fs.DurationVar(&o.JobDuration, "job-duration", 5*time.Second, "how long each job runs; negative: until finished through the control API or cancelled")
	fs.StringVar(&o.APIKey, "api-key", "", "require this x-goog-api-key on API and control calls")
	fs.Int64Var(&o.Seed, "seed", 0, "seed for faults and jitter; 0: random")
	fs.BoolVar(&o.Control, "control", true, "serve the control API at /gemhooktest/")
	fs.BoolVar(&o.GoogleFileURIs, "google-file-uris", true, "write generated files' URIs in the real API's https form, which the official SDKs' files.download maps onto this server; false: this server's own http URL")
	// Delivery
	fs.BoolVar(&o.JWS, "jws", false, "sign per-request deliveries with an RS256 JWS instead of v1a")
	fs.StringVar(&o.JWSAudience, "jws-audience", "", `"aud" claim of JWS deliveries; empty: none`)
	fs.StringVar(&o.JWSIssuer, "jws-issuer", "", `"iss" claim of JWS deliveries; empty: none`)
	fs.DurationVar(&o.RetryBackoff, "retry-backoff", gemhooktest.DefaultRetryBackoff, "first retry delay")
	fs.DurationVar(&o.RetryHorizon, "retry-horizon", gemhooktest.DefaultRetryHorizon, "give up on a delivery after this long")
	fs.DurationVar(&o.AttemptTimeout, "attempt-timeout", gemhooktest.DefaultAttemptTimeout, "bound on one delivery attempt")
	fs.IntVar(&o.DisableAfter, "disable-after", gemhooktest.DefaultDisableAfter, "failed deliveries in a row before a project webhook is disabled; negative: never")
	fs.IntVar(&o.Workers, "workers", gemhooktest.DefaultWorkers, "concurrent delivery attempts")
	fs.IntVar(&o.MaxPending, "max-pending", gemhooktest.DefaultMaxPending, "queued delivery attempts before new ones are dropped")
	fs.IntVar(&o.MaxJobs, "max-jobs", gemhooktest.DefaultMaxJobs, "stored jobs before the oldest ended one is forgotten")
	fs.IntVar(&o.LogSize, "log-size", gemhooktest.DefaultLogSize, "deliveries kept for /gemhooktest/deliveries")
	// Faults
	fs.IntVar(&o.Faults.Duplicates, "duplicates", 0, "extra copies of every delivery")
	fs.Float64Var(&o.Faults.DropRate, "drop-rate", 0, "share of events never delivered")
	fs.Float64Var(&o.Faults.EarlyRate, "early-rate", 0, "share of events delivered before the create call answers")
	fs.BoolVar(&o.Faults.Reorder, "reorder", false, "shuffle deliveries that are due together")
	fs.DurationVar(&o.Faults.ReorderWindow, "reorder-window", gemhooktest.DefaultReorderWindow, "what -reorder counts as due together")
	fs.DurationVar(&o.Faults.MaxDelay, "max-delay", 0, "random extra delay per delivery")
	// Quirks of the real API
	fs.BoolVar(&o.RefuseBatchMetadata, "refuse-batch-metadata", false, "refuse batch webhook configs with userMetadata, as the Batch API has (go-genai issue 779)")
	fs.StringVar(&o.VideoFileField, "video-file-field", "", "file field of video.generated: empty for all, video_uri or output_file_uri alone")
	fs.BoolVar(&o.MetadataInData, "metadata-in-data", false, "echo user_metadata inside data instead of the envelope")
	fs.BoolVar(&o.BareIDs, "bare-ids", false, `send data.id without its collection ("abc", not "batches/abc")`)
	fs.BoolVar(&o.NoCancelEvents, "no-cancel-events", false, "send no batch.cancelled or interaction.cancelled events")
	fs.BoolVar(&o.RefuseCancelSubscriptions, "refuse-cancel-subscriptions", false, "refuse webhooks that subscribe to *.cancelled")
	fs.Var(&hookFlags, "webhook", "register a project webhook at this URI at start (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *outcome {
	case gemhooktest.Succeeded, gemhooktest.Failed, gemhooktest.Expired, gemhooktest.Cancelled, gemhooktest.RequiresAction:
	default:
		return fmt.Errorf("-outcome %q: want succeeded, failed, expired, cancelled or requires_action", *outcome)
	}
	// RegisterWebhook panics on a bad URI, which is right in a test but not
	// for a flag.
	for _, uri := range hookFlags {
		if err := gemhooktest.CheckWebhookURI(uri); err != nil {
			return fmt.Errorf("-webhook: %w", err)
		}
	}
	o.Outcome = func(name string) string {
		// Only interactions (named by a bare id) can require action.
		if *outcome == gemhooktest.RequiresAction && strings.Contains(name, "/") {
			return gemhooktest.Succeeded
		}
		return *outcome
	}

	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", a...)
	}
	o.OnSecret = func(id, uri, secret string) {
		say("secret   webhook=%s uri=%s secret=%s", id, uri, secret)
	}
	o.OnDelivery = func(d gemhooktest.Delivery) {
		detail := d.Err
		if d.Status != 0 {
			detail = fmt.Sprintf("status=%d", d.Status)
		}
		say("delivery %s %s %s -> %s attempt=%d scheme=%s %s %s", d.Type, d.Resource, d.MessageID, d.URL, d.Attempt, d.Scheme, d.Result, detail)
	}
	s, err := gemhooktest.Start(o)
	if err != nil {
		return err
	}
	defer s.Close()
	say("gemhook-emulator listening")
	say("base URL %s   (genai HTTPOptions.BaseURL, or GOOGLE_GEMINI_BASE_URL)", s.URL)
	say("API      %s/v1beta   (also /v1)", s.URL)
	say("JWKS     %s", s.JWKSURL)
	if o.Control {
		say("control  %s%s   (finish, redeliver, jobs, deliveries: see -h)", s.URL, gemhooktest.ControlPath)
	}
	for _, uri := range hookFlags {
		s.RegisterWebhook(uri)
	}
	<-ctx.Done()
	say("shutting down")
	return nil
}
