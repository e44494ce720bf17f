// Command multitenant serves two tenants from one Receiver: each tenant
// has its own API key (its own genai client and gemhook Client) and its
// own webhook path, chosen per job with WithWebhookURL. Event.Endpoint
// tells which path a delivery came to, and Event.UserMetadata carries what
// was attached with WithUserMetadata. It runs offline against the
// emulator, whose per-request deliveries are signed with its published
// keys as Gemini's are.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "multitenant:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu := gemhooktest.NewServer(gemhooktest.Options{JobDuration: 200 * time.Millisecond})
	defer emu.Close()

	var mu sync.Mutex
	byPath := map[string][]string{}
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{
		JWKSURL: emu.JWKSURL, // gemhook.GeminiJWKSURL in production
		OnEvent: func(_ context.Context, ev *gemhook.Event) {
			tenant, _ := ev.UserMetadata["tenant"].(string) // absent on jobs submitted without it
			mu.Lock()
			byPath[ev.Endpoint] = append(byPath[ev.Endpoint], tenant)
			mu.Unlock()
		},
	})
	if err != nil {
		return err
	}
	defer r.Close()
	mux := http.NewServeMux()
	mux.Handle("POST /tenants/{tenant}/webhook", r)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	type tenant struct {
		name   string
		client *gemhook.Client
	}
	var tenants []tenant
	for _, name := range []string{"acme", "globex"} {
		cc := emu.ClientConfig()
		cc.APIKey = "key-of-" + name // each tenant brings its own key
		cc.HTTPClient = &http.Client{Transport: transport}
		gc, err := genai.NewClient(ctx, cc)
		if err != nil {
			return err
		}
		// One Client per tenant, all on the same Receiver.
		c, err := gemhook.New(gemhook.Config{GenAI: gc, Receiver: r, WebhookURL: base + "/tenants/" + name + "/webhook"})
		if err != nil {
			return err
		}
		defer c.Close()
		tenants = append(tenants, tenant{name, c})
	}

	src := &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{{
		Contents: []*genai.Content{genai.NewContentFromText("hello", genai.RoleUser)},
	}}}
	var futures []*gemhook.Future[*genai.BatchJob]
	var owners []string
	for _, t := range tenants {
		for range 2 {
			futures = append(futures, t.client.SubmitBatch(ctx, "gemini-2.5-flash", src, nil,
				gemhook.WithUserMetadata(map[string]any{"tenant": t.name})))
			owners = append(owners, t.name)
		}
	}
	// A job can also be sent to another path than its client's default.
	futures = append(futures, tenants[0].client.SubmitBatch(ctx, "gemini-2.5-flash", src, nil,
		gemhook.WithWebhookURL(base+"/tenants/acme-audit/webhook")))
	owners = append(owners, "acme (audit path)")

	jobs, err := gemhook.WaitAll(ctx, futures...)
	if err != nil {
		return err
	}
	for i, j := range jobs {
		fmt.Printf("%-18s %s %s\n", owners[i], j.Name, j.State)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range []string{"/tenants/acme/webhook", "/tenants/globex/webhook", "/tenants/acme-audit/webhook"} {
		fmt.Printf("%s received %d deliveries, tenant metadata %q\n", p, len(byPath[p]), byPath[p])
	}
	return nil
}
