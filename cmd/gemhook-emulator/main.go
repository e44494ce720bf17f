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
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
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

// run serves until ctx ends. Output goes to out through one lock, since
// secrets and deliveries are reported from several goroutines.
func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	fs := flag.NewFlagSet("gemhook-emulator", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var (
		addr      = fs.String("addr", "127.0.0.1:8089", "listen address")
		duration  = fs.Duration("job-duration", 5*time.Second, "how long each job runs; negative: until cancelled")
		outcome   = fs.String("outcome", gemhooktest.Succeeded, "how jobs end: succeeded, failed, expired or cancelled")
		apiKey    = fs.String("api-key", "", "require this x-goog-api-key on API calls")
		jws       = fs.Bool("jws", false, "sign per-request deliveries with an RS256 JWS instead of v1a")
		backoff   = fs.Duration("retry-backoff", time.Second, "first retry delay")
		horizon   = fs.Duration("retry-horizon", 24*time.Hour, "give up on a delivery after this long")
		dups      = fs.Int("duplicates", 0, "extra copies of every delivery")
		drop      = fs.Float64("drop-rate", 0, "share of events never delivered")
		reorder   = fs.Bool("reorder", false, "shuffle deliveries that are due together")
		maxDelay  = fs.Duration("max-delay", 0, "random extra delay per delivery")
		seed      = fs.Int64("seed", 0, "seed for faults and jitter; 0: random")
		hookFlags listFlag
	)
	fs.Var(&hookFlags, "webhook", "register a project webhook at this URI at start (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *outcome {
	case gemhooktest.Succeeded, gemhooktest.Failed, gemhooktest.Expired, gemhooktest.Cancelled:
	default:
		return fmt.Errorf("-outcome %q: want succeeded, failed, expired or cancelled", *outcome)
	}
	if *drop < 0 || *drop > 1 {
		return fmt.Errorf("-drop-rate %v: want a share between 0 and 1", *drop)
	}

	var mu sync.Mutex
	say := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", a...)
	}
	s, err := gemhooktest.Start(gemhooktest.Options{
		Addr:         *addr,
		JobDuration:  *duration,
		Outcome:      func(string) string { return *outcome },
		APIKey:       *apiKey,
		JWS:          *jws,
		RetryBackoff: *backoff,
		RetryHorizon: *horizon,
		Seed:         *seed,
		Faults:       gemhooktest.Faults{Duplicates: *dups, DropRate: *drop, Reorder: *reorder, MaxDelay: *maxDelay},
		OnSecret: func(id, uri, secret string) {
			say("secret   webhook=%s uri=%s secret=%s", id, uri, secret)
		},
		OnDelivery: func(d gemhooktest.Delivery) {
			detail := d.Err
			if d.Status != 0 {
				detail = fmt.Sprintf("status=%d", d.Status)
			}
			say("delivery %s %s %s -> %s attempt=%d scheme=%s %s %s", d.Type, d.Resource, d.MessageID, d.URL, d.Attempt, d.Scheme, d.Result, detail)
		},
	})
	if err != nil {
		return err
	}
	defer s.Close()
	say("gemhook-emulator listening")
	say("base URL %s   (genai HTTPOptions.BaseURL, or GOOGLE_GEMINI_BASE_URL)", s.URL)
	say("API      %s/v1beta   (also /v1)", s.URL)
	say("JWKS     %s", s.JWKSURL)
	for _, uri := range hookFlags {
		if err := registerable(uri); err != nil {
			return err
		}
		s.RegisterWebhook(uri)
	}
	<-ctx.Done()
	say("shutting down")
	return nil
}

// registerable checks -webhook values up front: RegisterWebhook panics on
// a bad URI, which is right in a test but not for a flag.
func registerable(uri string) error {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-webhook %q: want an absolute http or https URL", uri)
	}
	return nil
}
