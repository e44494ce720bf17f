// Command polling-migration shows a polling loop over a batch job and the
// one line that replaces it. It runs offline against the emulator.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
)

// pollingWait is the loop from genai's own batch example: get, check,
// sleep, for as long as the job runs.
func pollingWait(ctx context.Context, gc *genai.Client, name string, every time.Duration) (*genai.BatchJob, error) {
	for {
		job, err := gc.Batches.Get(ctx, name, nil)
		if err != nil {
			return nil, err
		}
		switch job.State {
		case genai.JobStateSucceeded, genai.JobStateFailed, genai.JobStateCancelled, genai.JobStateExpired:
			return job, nil
		}
		select {
		case <-time.After(every):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "polling-migration:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu := gemhooktest.NewServer(gemhooktest.Options{JobDuration: 1500 * time.Millisecond})
	defer emu.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	cc := emu.ClientConfig()
	cc.HTTPClient = &http.Client{Transport: transport}
	gc, err := genai.NewClient(ctx, cc)
	if err != nil {
		return err
	}
	src := &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{{
		Contents: []*genai.Content{genai.NewContentFromText("hello", genai.RoleUser)},
	}}}

	// Before: create, then poll.
	job, err := gc.Batches.Create(ctx, "gemini-2.5-flash", src, nil)
	if err != nil {
		return err
	}
	before := emu.Calls().Total()
	if job, err = pollingWait(ctx, gc, job.Name, 250*time.Millisecond); err != nil {
		return err
	}
	report("polling every 250ms", emu, job, emu.Calls().Total()-before)

	// After: a receiver where the project webhook points, a Client, and
	// the loop becomes AwaitBatch(name).Wait(ctx) (or SubmitBatch for new
	// jobs). The same line works for a job submitted before a restart.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	secret := emu.RegisterWebhook("http://" + ln.Addr().String() + "/webhook")
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{Secrets: []string{secret}, JWKSURL: emu.JWKSURL})
	if err != nil {
		return err
	}
	defer r.Close()
	go r.Serve(ln)
	client, err := gemhook.New(gemhook.Config{GenAI: gc, Receiver: r})
	if err != nil {
		return err
	}
	defer client.Close()

	job, err = gc.Batches.Create(ctx, "gemini-2.5-flash", src, nil)
	if err != nil {
		return err
	}
	before = emu.Calls().Total()
	job, err = client.AwaitBatch(job.Name).Wait(ctx) // the one line
	if err != nil {
		return err
	}
	report("gemhook", emu, job, emu.Calls().Total()-before)
	return nil
}

// report prints how many API calls waiting took (gets; for gemhook also
// the one webhook listing that tells it a webhook will report the job)
// and how late the end was seen.
func report(how string, emu *gemhooktest.Server, job *genai.BatchJob, calls int) {
	late := "?"
	if j, ok := emu.Job(job.Name); ok {
		late = time.Since(j.Ended).Round(100 * time.Microsecond).String()
	}
	fmt.Printf("%-20s %s %s: %d API calls, end seen %s late\n", how+":", job.Name, job.State, calls, late)
}
