package gemhook_test

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
)

// Submit a batch and wait for its webhook, offline against the emulator.
func Example() {
	ctx := context.Background()
	emu := gemhooktest.NewServer(gemhooktest.Options{})
	defer emu.Close()

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	secret := emu.RegisterWebhook("http://" + ln.Addr().String() + "/webhook")
	r, _ := gemhook.NewReceiver(gemhook.ReceiverConfig{Secrets: []string{secret}, JWKSURL: emu.JWKSURL})
	defer r.Close()
	go r.Serve(ln)

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	cc := emu.ClientConfig()
	cc.HTTPClient = &http.Client{Transport: transport}
	gc, _ := genai.NewClient(ctx, cc)
	client, err := gemhook.New(gemhook.Config{GenAI: gc, Receiver: r})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	src := &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{{
		Contents: []*genai.Content{genai.NewContentFromText("hello", genai.RoleUser)},
	}}}
	job, err := client.SubmitBatch(ctx, "gemini-2.5-flash", src, nil).Wait(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(job.State)
	// Output: JOB_STATE_SUCCEEDED
}
