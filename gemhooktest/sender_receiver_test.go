package gemhooktest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/leaktest"
	"google.golang.org/genai"
)

// gemhook's own Receiver accepts what the emulator sends: v1 with the
// secret from RegisterWebhook, and v1a and JWS with keys from JWKSURL.
func TestReceiverAcceptsDeliveries(t *testing.T) {
	for _, jws := range []bool{false, true} {
		t.Run(map[bool]string{false: "v1a", true: "jws"}[jws], func(t *testing.T) {
			t.Cleanup(leaktest.Check(t))
			events := make(chan *gemhook.Event, 10)
			s := gemhooktest.NewServer(gemhooktest.Options{JobDuration: time.Millisecond, JWS: jws})
			defer s.Close()
			// The receiver needs the secret, which needs the receiver's URL.
			var rcv atomic.Pointer[gemhook.Receiver]
			hookSrv := newHTTPServer(t, rcv.Load)
			secret := s.RegisterWebhook(hookSrv.URL + "/project")
			r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{
				Secrets: []string{secret}, JWKSURL: s.JWKSURL,
				OnEvent: func(_ context.Context, ev *gemhook.Event) { events <- ev },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rcv.Store(r)
			cfg := s.ClientConfig()
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			cfg.HTTPClient = &http.Client{Transport: tr}
			c, err := genai.NewClient(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			a, err := c.Batches.Create(ctx, "m", &genai.BatchJobSource{FileName: "files/x"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Batches.Create(ctx, "m", &genai.BatchJobSource{FileName: "files/y"},
				&genai.CreateBatchJobConfig{WebhookConfig: &genai.WebhookConfig{Uris: []string{hookSrv.URL + "/dynamic"}, UserMetadata: map[string]any{"k": "v"}}})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{a.Name: "v1", b.Name: map[bool]string{false: "v1a", true: "jws"}[jws]}
			for range 2 {
				select {
				case ev := <-events:
					if want[ev.Resource] != ev.Scheme {
						t.Fatalf("event for %s verified by %s, want %s", ev.Resource, ev.Scheme, want[ev.Resource])
					}
					delete(want, ev.Resource)
				case <-time.After(10 * time.Second):
					t.Fatalf("receiver accepted no event; deliveries: %+v", s.Deliveries())
				}
			}
		})
	}
}

// newHTTPServer serves the Receiver that get returns once it is built.
func newHTTPServer(t *testing.T, get func() *gemhook.Receiver) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		get().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}
