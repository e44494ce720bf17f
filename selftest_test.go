package gemhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/internal/leaktest"
)

func newProbeReceiver(t *testing.T, onEvent func(context.Context, *Event)) *Receiver {
	t.Helper()
	// Per-request mode: no project secrets, and a key set nobody fetches.
	r, err := NewReceiver(ReceiverConfig{JWKSURL: "http://127.0.0.1:1/jwks.json", OnEvent: onEvent})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestSelfTest(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	var mu sync.Mutex
	var seen []string
	r := newProbeReceiver(t, func(_ context.Context, ev *Event) {
		mu.Lock()
		seen = append(seen, ev.Type+" "+ev.Scheme)
		mu.Unlock()
	})
	mux := http.NewServeMux()
	mux.Handle("/hook", r)
	mux.Handle("/reencoded", reencoding(r))
	mux.Handle("/stripped", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Header.Del("Webhook-Signature")
		r.ServeHTTP(w, req)
	}))
	mux.Handle("/retimed", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Header.Set("Webhook-Id", req.Header.Get("Webhook-Id")+"x")
		r.ServeHTTP(w, req)
	}))
	mux.Handle("/elsewhere", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	mux.Handle("/moved", http.RedirectHandler("/hook", http.StatusTemporaryRedirect))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/hook"
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for path, want := range map[string]CheckReason{
		"/hook":      "",
		"/reencoded": ReasonBodyAltered,
		"/stripped":  ReasonRejected,
		"/retimed":   ReasonRejected,
		"/elsewhere": ReasonElsewhere,
		"/missing":   ReasonElsewhere,
		"/moved":     ReasonUnreachable,
	} {
		err := r.SelfTest(ctx, srv.URL+path)
		if reasonOf(err) != want || (want == "") != (err == nil) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
		sentinel := ErrRejected
		if want == ReasonElsewhere || want == ReasonUnreachable {
			sentinel = ErrNotDelivered
		}
		if err != nil && !errors.Is(err, sentinel) {
			t.Errorf("%s: %v is not %v", path, err, sentinel)
		}
		if err != nil && !strings.Contains(err.Error(), srv.URL+path) {
			t.Errorf("%s: message %q does not name the URL", path, err)
		}
	}
	if err := r.SelfTest(ctx, dead); reasonOf(err) != ReasonUnreachable || !errors.Is(err, ErrNotDelivered) {
		t.Errorf("dead port: %v", err)
	}
	if err := r.SelfTest(ctx, "ftp://x/hook"); !errors.Is(err, ErrInvalidWebhookURI) {
		t.Errorf("bad url: %v", err)
	}
	if n := len(r.secrets.Load().keys); n != 0 {
		t.Fatalf("%d probe secrets left in the receiver", n)
	}
	mu.Lock()
	// The direct probe, and the sturdy second probe through the re-encoder.
	slices.Sort(seen)
	if len(seen) != 2 || seen[0] != " v1" || seen[1] != ProbeType+" v1" {
		t.Errorf("OnEvent saw %v", seen)
	}
	mu.Unlock()
	r.Close()
	if err := r.SelfTest(ctx, srv.URL+"/hook"); !errors.Is(err, ErrClosed) {
		t.Errorf("closed receiver: %v", err)
	}
}

func TestClientSelfTest(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	r := newProbeReceiver(t, nil)
	srv := httptest.NewServer(r)
	defer srv.Close()
	gc, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: "http://127.0.0.1:1/"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := New(Config{GenAI: gc, Receiver: r, WebhookURL: srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SelfTest(ctx); err != nil {
		t.Fatal(err)
	}

	project, err := New(Config{GenAI: gc, Receiver: r})
	if err != nil {
		t.Fatal(err)
	}
	if err := project.SelfTest(ctx); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("project mode: %v", err)
	}
	project.Close()
	if err := project.SelfTest(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
}
