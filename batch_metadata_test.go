package gemhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// refusedMetadata is the Batch API's answer in go-genai issue 779.
const refusedMetadata = `{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"userMetadata\" at 'batch.webhook_config': Cannot find field.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"batch.webhook_config","description":"Invalid JSON payload received. Unknown name \"userMetadata\" at 'batch.webhook_config': Cannot find field."}]}]}}`

// metadataRefusingProxy stands in front of the emulator and answers batch
// creates that carry userMetadata as the real API did, counting them.
func metadataRefusingProxy(t *testing.T, target string, refused *atomic.Int64) *httptest.Server {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ":batchGenerateContent") {
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte(`"userMetadata"`)) {
				refused.Add(1)
				w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, refusedMetadata)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// Per-request batches behind an API that refuses userMetadata: those without
// caller metadata are created once each (no duplicate job), settle by their
// webhooks, and only the first pays the refused attempt; one with caller
// metadata fails with the API's error and the issue named.
func TestBatchMetadataRefused(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	delivered := make(chan string, 16)
	emu := gemhooktest.NewServer(gemhooktest.Options{OnDelivery: func(d gemhooktest.Delivery) {
		if d.Result == gemhooktest.Delivered {
			delivered <- d.Resource
		}
	}})
	defer emu.Close()
	var refused atomic.Int64
	proxy := metadataRefusingProxy(t, emu.URL, &refused)
	r, err := NewReceiver(ReceiverConfig{JWKSURL: emu.JWKSURL})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	hooks := httptest.NewServer(r)
	defer hooks.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	gcfg := emu.ClientConfig()
	gcfg.HTTPOptions.BaseURL = proxy.URL
	gcfg.HTTPClient = &http.Client{Transport: tr}
	gc, err := genai.NewClient(context.Background(), gcfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	c, err := New(Config{GenAI: gc, Receiver: r, WebhookURL: hooks.URL + "/hook",
		Fallback: Fallback{Disabled: true}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := waitCtx(t)

	const n = 3
	for i := range n {
		f := c.SubmitBatch(ctx, "gemini-test", inlined("x"), nil)
		job, err := f.Wait(ctx)
		if err != nil || job.State != genai.JobStateSucceeded {
			t.Fatalf("batch %d: %+v, %v", i, job, err)
		}
		if info, _ := emu.Job(f.Name()); len(info.UserMetadata) != 0 || len(info.URIs) != 1 {
			t.Fatalf("batch %d reached the API with %+v", i, info)
		}
		// With the fallback poll disabled, only its webhook can have settled it.
		select {
		case got := <-delivered:
			if got != f.Name() {
				t.Fatalf("batch %d: delivered %s, want %s", i, got, f.Name())
			}
		case <-ctx.Done():
			t.Fatalf("batch %d: no delivery", i)
		}
	}
	if got := refused.Load(); got != 1 {
		t.Errorf("%d refused creates, want 1 (the refusal is remembered)", got)
	}
	if got := len(emu.Jobs()); got != n {
		t.Errorf("%d jobs at the API for %d submissions", got, n)
	}
	if got := strings.Count(logs.String(), "go-genai issue 779"); got != 1 || !strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("logged %d times, want once at Info:\n%s", got, logs.String())
	}

	_, err = c.SubmitBatch(ctx, "gemini-test", inlined("x"), nil, WithUserMetadata(map[string]any{"tenant": "a"})).Wait(ctx)
	var apiErr genai.APIError
	if !errors.Is(err, ErrMetadataRefused) || !errors.As(err, &apiErr) || apiErr.Code != http.StatusBadRequest || !strings.Contains(err.Error(), "issues/779") {
		t.Fatalf("with caller metadata: %v", err)
	}
	if got := len(emu.Jobs()); got != n {
		t.Errorf("%d jobs at the API after the refused submission, want %d", got, n)
	}
	if got := strings.Count(logs.String(), "go-genai issue 779"); got != 1 {
		t.Errorf("logged %d times, want once", got)
	}
}

func TestMetadataRefusedRecognises(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: `Invalid JSON payload received. Unknown name "userMetadata" at 'batch.webhook_config': Cannot find field.`}, true},
		{&genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: `Unknown name "user_metadata" at 'batch.webhook_config'`}, true},
		{genai.APIError{Code: 400, Status: "INVALID_ARGUMENT", Message: "batch.inputConfig is required"}, false},
		{genai.APIError{Code: 500, Status: "INTERNAL", Message: "userMetadata"}, false},
		{errors.New(`Unknown name "userMetadata"`), false},
	} {
		if got := metadataRefused(tc.err); got != tc.want {
			t.Errorf("metadataRefused(%v) = %v", tc.err, got)
		}
	}
}
