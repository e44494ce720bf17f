// Command quickstart submits a batch, a video generation and a background
// interaction, and waits for each on its webhook instead of polling.
//
// With no GEMINI_API_KEY it runs offline in a few seconds: it starts the
// gemhooktest emulator in process, registers a project webhook on it and
// receives the signed deliveries on loopback.
//
// With GEMINI_API_KEY and GEMHOOK_PUBLIC_URL set it runs against Gemini:
// GEMHOOK_PUBLIC_URL is the public https URL that reaches this program
// (a tunnel to GEMHOOK_ADDR, default ":8080"), sent as each job's
// per-request webhook. The video step runs only when GEMHOOK_VIDEO_MODEL
// names a Veo model, because video generation is billed per second.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/genai"
	gi "google.golang.org/genai/interactions/models/interactions"
	"google.golang.org/genai/interactions/models/operations"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// setup is what differs between the offline and the live run.
type setup struct {
	genai      *genai.Client
	receiver   *gemhook.Receiver
	webhookURL string
	models     struct{ batch, video, interaction string }
	// ended reports when the emulator ended a job; live runs can't know.
	ended func(name string) (time.Time, bool)
	calls func() int
	close func()
}

func run(ctx context.Context, out io.Writer, env func(string) string) error {
	var s *setup
	var err error
	if env("GEMINI_API_KEY") == "" {
		s, err = offline()
	} else {
		s, err = live(ctx, env)
	}
	if err != nil {
		return err
	}
	defer s.close()

	client, err := gemhook.New(gemhook.Config{GenAI: s.genai, Receiver: s.receiver, WebhookURL: s.webhookURL})
	if err != nil {
		return err
	}
	defer client.Close()

	start := time.Now()
	batch := client.SubmitBatch(ctx, s.models.batch, &genai.BatchJobSource{
		InlinedRequests: []*genai.InlinedRequest{{
			Contents: []*genai.Content{genai.NewContentFromText("Name three rivers.", genai.RoleUser)},
		}},
	}, &genai.CreateBatchJobConfig{DisplayName: "gemhook-quickstart"})
	var video *gemhook.Future[*genai.GenerateVideosOperation]
	if s.models.video != "" {
		video = client.GenerateVideos(ctx, s.models.video, &genai.GenerateVideosSource{Prompt: "A paper boat on a river"}, nil)
	}
	input := gi.NewInteractionsInput("Why is the sky blue? One sentence.")
	interaction := client.CreateInteraction(ctx, operations.CreateInteractionRequest{
		Body: operations.NewCreateInteractionRequestBody(gi.CreateModelInteraction{
			Model: gi.Model(s.models.interaction), Input: &input,
		}),
	})

	// Note when each future settles, independently of the order in which
	// this program reads them.
	batchAt, interactionAt := settledAt(batch.Done()), settledAt(interaction.Done())
	var videoAt func() time.Time
	if video != nil {
		videoAt = settledAt(video.Done())
	}
	var report []line
	job, err := batch.Wait(ctx)
	report = append(report, s.line("batch", batch.Name(), batchAt(), state(job, err, func() string { return string(job.State) }), err))
	if video != nil {
		op, err := video.Wait(ctx)
		report = append(report, s.line("video", video.Name(), videoAt(), state(op, err, func() string { return videoState(op) }), err))
	}
	it, err := interaction.Wait(ctx)
	report = append(report, s.line("interaction", interaction.Name(), interactionAt(), state(it, err, func() string { return string(it.Status) }), err))

	elapsed := time.Since(start)
	fmt.Fprintf(out, "%-12s %-62s %-22s %s\n", "job", "name", "outcome", "job end -> Wait returned")
	failures := 0
	for _, l := range report {
		fmt.Fprintln(out, l)
		if l.submitErr {
			failures++
		}
	}
	compare(out, len(report), s.calls(), elapsed)
	if failures > 0 {
		return fmt.Errorf("%d of %d jobs could not be submitted or looked up", failures, len(report))
	}
	return nil
}

// loopEvery is the polling loop gemhook is compared with.
const loopEvery = 10 * time.Second

// compare prints the API calls gemhook and a polling loop make for jobs as
// long as users' jobs are, and beside them this run's measured calls.
func compare(out io.Writer, jobs, made int, elapsed time.Duration) {
	fmt.Fprintf(out, "\nAPI calls for %d jobs, gemhook against a loop polling every %v:\n", jobs, loopEvery)
	fmt.Fprintf(out, "  %-22s %8s %13s\n", "job length", "gemhook", "polling loop")
	for _, d := range []time.Duration{10 * time.Minute, time.Hour, 24 * time.Hour} {
		fmt.Fprintf(out, "  %-22s %8d %13d\n", length(d), jobs*gemhookCalls(d), jobs*loopCalls(d))
	}
	fmt.Fprintf(out, "  %-22s %8d %13d   (gemhook's measured)\n", "this run, "+elapsed.Round(time.Millisecond).String(), made, jobs*loopCalls(elapsed))
	fmt.Fprintf(out, "gemhook: a create and a confirming get per job, plus its safety-net polls (after %v, then backing off to every %v);\n",
		gemhook.DefaultFallbackAfter, gemhook.DefaultFallbackEvery)
	fmt.Fprintf(out, "the loop: a create and a get every %v, noticing each end up to %v late.\n", loopEvery, loopEvery)
}

func length(d time.Duration) string {
	n, unit := int(d/time.Minute), "minute"
	if d >= time.Hour {
		n, unit = int(d/time.Hour), "hour"
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}

// loopCalls: a create, then a get per started interval.
func loopCalls(d time.Duration) int {
	return 1 + int((d+loopEvery-1)/loopEvery)
}

// gemhookCalls: a create, a confirming get, and the safety net's polls of
// a job running d with the default Fallback: the first after
// DefaultFallbackAfter, then doubling intervals up to DefaultFallbackEvery
// (without the jitter, which shortens them by up to a quarter).
func gemhookCalls(d time.Duration) int {
	n := 2
	step := gemhook.DefaultFallbackAfter
	for at := step; at < d; at += step {
		n++
		step = min(2*step, gemhook.DefaultFallbackEvery)
	}
	return n
}

// settledAt returns a function that reports when done was closed; it
// blocks until then.
func settledAt(done <-chan struct{}) func() time.Time {
	at := make(chan time.Time, 1)
	go func() {
		<-done
		at <- time.Now()
	}()
	return func() time.Time {
		t := <-at
		at <- t
		return t
	}
}

type line struct {
	kind, name, outcome string
	lag                 string
	submitErr           bool
}

func (l line) String() string {
	return fmt.Sprintf("%-12s %-62s %-22s %s", l.kind, l.name, l.outcome, l.lag)
}

func (s *setup) line(kind, name string, returned time.Time, outcome string, err error) line {
	l := line{kind: kind, name: name, outcome: outcome, lag: "n/a (live run)"}
	var je *gemhook.JobError
	if err != nil && !errors.As(err, &je) {
		l.outcome, l.submitErr = "error: "+err.Error(), true
	}
	if ended, ok := s.ended(name); ok {
		l.lag = returned.Sub(ended).Round(10 * time.Microsecond).String()
	}
	return l
}

// state names a settled job's outcome; a *JobError is an outcome too.
func state[T any](v *T, err error, f func() string) string {
	if v == nil {
		return "-"
	}
	var je *gemhook.JobError
	if errors.As(err, &je) {
		return je.State
	}
	return f()
}

func videoState(op *genai.GenerateVideosOperation) string {
	switch {
	case !op.Done:
		return "running"
	case op.Error != nil:
		return fmt.Sprintf("failed: %v", op.Error["message"])
	case op.Response != nil:
		return fmt.Sprintf("done: %d video(s)", len(op.Response.GeneratedVideos))
	}
	return "done"
}

// offline wires the emulator, a receiver on loopback and a project webhook.
func offline() (*setup, error) {
	emu, err := gemhooktest.Start(gemhooktest.Options{JobDuration: 300 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		emu.Close()
		return nil, err
	}
	secret := emu.RegisterWebhook("http://" + ln.Addr().String() + "/gemini/webhook")
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{Secrets: []string{secret}, JWKSURL: emu.JWKSURL})
	if err != nil {
		emu.Close()
		ln.Close()
		return nil, err
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = r.Serve(ln)
	}()
	// An own transport, so that close can drop its idle connections: the
	// emulator's graceful shutdown would otherwise wait for them.
	transport := &http.Transport{}
	cc := emu.ClientConfig()
	cc.HTTPClient = &http.Client{Transport: transport}
	gc, err := genai.NewClient(context.Background(), cc)
	if err != nil {
		r.Close()
		emu.Close()
		return nil, err
	}
	s := &setup{
		genai:    gc,
		receiver: r,
		ended: func(name string) (time.Time, bool) {
			j, ok := emu.Job(name)
			return j.Ended, ok && !j.Ended.IsZero()
		},
		calls: func() int { return emu.Calls().Total() },
		close: func() {
			r.Close()
			<-served
			transport.CloseIdleConnections()
			emu.Close()
		},
	}
	s.models.batch, s.models.video, s.models.interaction = "gemini-2.5-flash", "veo-3.0-fast-generate-001", "gemini-2.5-flash"
	return s, nil
}

// live wires the real API and a receiver listening for Gemini's
// per-request deliveries, verified with Gemini's published keys.
func live(ctx context.Context, env func(string) string) (*setup, error) {
	public := env("GEMHOOK_PUBLIC_URL")
	if public == "" {
		return nil, errors.New("GEMINI_API_KEY is set but GEMHOOK_PUBLIC_URL is not: set it to the public https URL that reaches GEMHOOK_ADDR (default :8080)")
	}
	addr := env("GEMHOOK_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	counted := &countingTransport{next: http.DefaultTransport}
	gc, err := genai.NewClient(ctx, &genai.ClientConfig{
		APIKey: env("GEMINI_API_KEY"), Backend: genai.BackendGeminiAPI,
		HTTPClient: &http.Client{Transport: counted},
	})
	if err != nil {
		return nil, err
	}
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{JWKSURL: gemhook.GeminiJWKSURL})
	if err != nil {
		return nil, err
	}
	served := make(chan error, 1)
	go func() { served <- r.ListenAndServe(addr) }()
	s := &setup{
		genai:      gc,
		receiver:   r,
		webhookURL: public,
		ended:      func(string) (time.Time, bool) { return time.Time{}, false },
		close: func() {
			r.Close()
			<-served
		},
	}
	s.models.batch, s.models.video, s.models.interaction = "gemini-2.5-flash", env("GEMHOOK_VIDEO_MODEL"), "gemini-2.5-flash"
	s.calls = func() int { return int(counted.n.Load()) }
	return s, nil
}

// countingTransport counts the requests genai sends, so a live run reports
// the calls it really made.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(req)
}
