package gemhook_test

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook"
)

// unreachableClient is a Client whose calls would go to Gemini: the
// examples below fail before any call.
func unreachableClient(ctx context.Context) (*gemhook.Client, func()) {
	gc, _ := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "example-key", Backend: genai.BackendGeminiAPI})
	r, _ := gemhook.NewReceiver(gemhook.ReceiverConfig{})
	client, _ := gemhook.New(gemhook.Config{GenAI: gc, Receiver: r})
	return client, func() { client.Close(); r.Close() }
}

// SubmitBatch returns once Gemini has answered the create call, so
// whether the job exists is known at once: save its name for a restart, or
// handle the error, without waiting for the outcome.
func ExampleFuture_SubmitErr() {
	ctx := context.Background()
	client, done := unreachableClient(ctx)
	defer done()

	f := client.SubmitBatch(ctx, "gemini-2.5-flash", &genai.BatchJobSource{}, nil)
	if err := f.SubmitErr(); err != nil {
		fmt.Println("not submitted:", err)
		return
	}
	fmt.Println("submitted; save for a restart:", f.Name())
	// Output: not submitted: gemhook: invalid argument: SubmitBatch: the source is empty: set FileName (an uploaded JSONL file) or InlinedRequests
}

// WaitAll's error lists the futures that failed; errors.As also finds
// each one's *JobError through it.
func ExampleWaitAll() {
	ctx := context.Background()
	client, done := unreachableClient(ctx)
	defer done()

	_, err := gemhook.WaitAll(ctx,
		client.AwaitBatch("operations/x"),
		client.SubmitBatch(ctx, "", &genai.BatchJobSource{FileName: "files/in"}, nil))
	var all *gemhook.WaitAllError
	if errors.As(err, &all) {
		fmt.Printf("%d of %d failed\n", len(all.Failed), all.Total)
		for _, f := range all.Failed {
			fmt.Printf("#%d invalid argument: %v\n", f.Index, errors.Is(f.Err, gemhook.ErrInvalidArgument))
		}
	}
	// Output:
	// 2 of 2 failed
	// #0 invalid argument: true
	// #1 invalid argument: true
}
