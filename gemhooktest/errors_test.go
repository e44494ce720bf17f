package gemhooktest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gemhook/gemhook/internal/leaktest"
	"google.golang.org/genai"
)

// Requests Gemini would refuse get Google's error envelope, as JSON, with
// the matching status.
func TestBadInput(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := NewServer(Options{JobDuration: -1})
	defer s.Close()
	hook := func() string { s.RegisterWebhook("http://127.0.0.1:1/h"); return s.Webhooks()[0].ID }()
	cases := []struct {
		name, method, path, body string
		code                     int
		status                   string
	}{
		{"unknown route", "GET", "/v1beta/nothing", "", 404, "NOT_FOUND"},
		{"no version", "GET", "/batches", "", 404, "NOT_FOUND"},
		{"wrong method", "PUT", "/v1beta/batches/x", "", 404, "NOT_FOUND"},
		{"malformed JSON", "POST", "/v1beta/models/m:batchGenerateContent", `{"batch":`, 400, "INVALID_ARGUMENT"},
		{"no batch", "POST", "/v1beta/models/m:batchGenerateContent", `{}`, 400, "INVALID_ARGUMENT"},
		{"no input", "POST", "/v1beta/models/m:batchGenerateContent", `{"batch":{}}`, 400, "INVALID_ARGUMENT"},
		{"both inputs", "POST", "/v1/models/m:batchGenerateContent", `{"batch":{"inputConfig":{"fileName":"files/a","requests":{"requests":[{"request":{}}]}}}}`, 400, "INVALID_ARGUMENT"},
		{"bad webhook uri", "POST", "/v1beta/models/m:batchGenerateContent", `{"batch":{"inputConfig":{"fileName":"files/a"},"webhookConfig":{"uris":["ftp://x"]}}}`, 400, "INVALID_ARGUMENT"},
		{"unknown batch", "GET", "/v1beta/batches/nope", "", 404, "NOT_FOUND"},
		{"bad page size", "GET", "/v1beta/batches?pageSize=-1", "", 400, "INVALID_ARGUMENT"},
		{"no instances", "POST", "/v1beta/models/veo:predictLongRunning", `{"instances":[]}`, 400, "INVALID_ARGUMENT"},
		{"bad sample count", "POST", "/v1beta/models/veo:predictLongRunning", `{"instances":[{"prompt":"x"}],"parameters":{"sampleCount":9}}`, 400, "INVALID_ARGUMENT"},
		{"unknown operation", "GET", "/v1beta/models/veo/operations/nope", "", 404, "NOT_FOUND"},
		{"webhook without uri", "POST", "/v1beta/webhooks", `{"subscribed_events":["batch.failed"]}`, 400, "INVALID_ARGUMENT"},
		{"webhook without events", "POST", "/v1beta/webhooks", `{"uri":"https://example.com/h"}`, 400, "INVALID_ARGUMENT"},
		{"webhook unknown event", "POST", "/v1beta/webhooks", `{"uri":"https://example.com/h","subscribed_events":["batch.exploded"]}`, 400, "INVALID_ARGUMENT"},
		{"bad update_mask", "PATCH", "/v1beta/webhooks/" + hook + "?update_mask=create_time", `{}`, 400, "INVALID_ARGUMENT"},
		{"empty update", "PATCH", "/v1beta/webhooks/" + hook, `{}`, 400, "INVALID_ARGUMENT"},
		{"unknown webhook", "POST", "/v1beta/webhooks/nope:ping", "", 404, "NOT_FOUND"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, env := call(t, tc.method, s.URL+tc.path, tc.body, nil)
			if code != tc.code || env.Error.Code != tc.code || env.Error.Status != tc.status || env.Error.Message == "" {
				t.Fatalf("got %d %+v, want %d %s", code, env.Error, tc.code, tc.status)
			}
			if ctype != "application/json; charset=UTF-8" {
				t.Fatalf("Content-Type %q", ctype)
			}
		})
	}
	// The interactions endpoints carry a string code (genai's schema) with
	// the same status.
	for _, body := range []string{`{"model":"m"}`, `{"input":"x"}`, `{"model":"m","input":"x","webhook_config":{}}`} {
		resp, err := http.Post(s.URL+"/v1beta/interactions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Error struct{ Code, Status, Message string } `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 400 || env.Error.Code != "invalid_argument" || env.Error.Message == "" {
			t.Fatalf("%s: %d %+v %v", body, resp.StatusCode, env, err)
		}
	}
}

type errorEnvelope struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

func call(t *testing.T, method, url, body string, h http.Header) (int, string, errorEnvelope) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env errorEnvelope
	_ = json.Unmarshal(b, &env)
	return resp.StatusCode, resp.Header.Get("Content-Type"), env
}

func TestAPIKey(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := NewServer(Options{APIKey: "right-key"})
	defer s.Close()
	code, _, env := call(t, "GET", s.URL+"/v1beta/batches", "", nil)
	if code != 403 || env.Error.Status != "PERMISSION_DENIED" {
		t.Fatalf("no key: %d %+v", code, env)
	}
	code, _, env = call(t, "GET", s.URL+"/v1beta/batches", "", http.Header{"X-Goog-Api-Key": {"wrong"}})
	if code != 400 || env.Error.Status != "INVALID_ARGUMENT" {
		t.Fatalf("wrong key: %d %+v", code, env)
	}
	// The key set is public.
	if code, _, _ := call(t, "GET", s.JWKSURL, "", nil); code != 200 {
		t.Fatalf("jwks: %d", code)
	}
	c := newClient(t, s) // ClientConfig carries the right key
	if _, err := c.Batches.List(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	cfg := s.ClientConfig()
	cfg.APIKey = "wrong"
	bad, err := genai.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Batches.Get(context.Background(), "batches/x", nil)
	var ae genai.APIError
	if !errors.As(err, &ae) || ae.Code != 400 || ae.Status != "INVALID_ARGUMENT" {
		t.Fatalf("genai error %v", err)
	}
	bad.ClientConfig().HTTPClient.CloseIdleConnections()
}

// Batches list, cancel and delete through genai.
func TestBatchListCancelDelete(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := NewServer(Options{JobDuration: -1, NoCancelEvents: true})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	var names []string
	for range 3 {
		j, err := c.Batches.Create(ctx, "m", inlineSource("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, j.Name)
	}
	page, err := c.Batches.List(ctx, &genai.ListBatchJobsConfig{PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.NextPageToken == "" || page.Items[0].State != genai.JobStateRunning {
		t.Fatalf("page 1: %d items, token %q", len(page.Items), page.NextPageToken)
	}
	page2, err := page.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page2.Items) != 1 || page2.Items[0].Name != names[2] {
		t.Fatalf("page 2: %+v", page2.Items)
	}
	if err := c.Batches.Cancel(ctx, names[0], nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.Batches.Get(ctx, names[0], nil)
	if err != nil || got.State != genai.JobStateCancelled {
		t.Fatalf("after cancel: %+v, %v", got, err)
	}
	var ae genai.APIError
	if err := c.Batches.Cancel(ctx, names[0], nil); !errors.As(err, &ae) || ae.Code != 400 {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := c.Batches.Delete(ctx, names[1], nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Batches.Get(ctx, names[1], nil); !errors.As(err, &ae) || ae.Code != 404 {
		t.Fatalf("get after delete: %v", err)
	}
	if info, _ := s.Job(names[0]); info.MessageID != "" {
		t.Fatalf("NoCancelEvents still made an event: %+v", info)
	}
}
