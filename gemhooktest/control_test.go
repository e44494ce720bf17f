package gemhooktest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// callJSON sends one JSON request to the Server and decodes the answer.
func callJSON(t *testing.T, s *Server, method, path, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("x-goog-api-key", key)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d %q", method, path, res.StatusCode, b)
	}
	return res.StatusCode, out
}

func errStatus(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["status"].(string)
	return s
}

// The control API ends jobs with any outcome (requires_action, then
// completed), redelivers an event under its webhook-id, lists jobs and
// deliveries, and answers mistakes with Google's codes.
func TestControlAPI(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	const key = "k"
	s := NewServer(Options{JobDuration: -1, Control: true, APIKey: key})
	defer s.Close()
	code, it := callJSON(t, s, "POST", "/v1beta/interactions", key,
		`{"model":"m","input":"x","background":true,"webhook_config":{"uris":["`+rc.URL+`"]}}`)
	if code != 200 {
		t.Fatalf("create interaction: %d %v", code, it)
	}
	id := it["id"].(string)

	if code, _ := callJSON(t, s, "POST", ControlPath+"finish", "", `{"name":"`+id+`","outcome":"requires_action"}`); code != http.StatusForbidden {
		t.Fatalf("finish without the API key: %d", code)
	}
	code, job := callJSON(t, s, "POST", ControlPath+"finish", key, `{"name":"interactions/`+id+`","outcome":"requires_action"}`)
	if code != 200 || job["state"] != "requires_action" || job["message_id"] == "" {
		t.Fatalf("finish requires_action: %d %v", code, job)
	}
	first := rc.next(t)
	if first.envelope(t)["type"] != "interaction.requires_action" {
		t.Fatalf("event %s", first.body)
	}
	code, job = callJSON(t, s, "POST", ControlPath+"finish", key, `{"name":"`+id+`","outcome":"succeeded"}`)
	if code != 200 || job["state"] != "completed" {
		t.Fatalf("finish after requires_action: %d %v", code, job)
	}
	done := rc.next(t)
	code, _ = callJSON(t, s, "POST", ControlPath+"redeliver", key, `{"name":"`+id+`"}`)
	if again := rc.next(t); code != 200 || again.id() != done.id() || string(again.body) != string(done.body) {
		t.Fatalf("redeliver: %d, %s %s, want %s", code, again.id(), again.body, done.id())
	}

	for _, tc := range []struct {
		path, body, status string
		code               int
	}{
		{"finish", `{"name":"` + id + `","outcome":"failed"}`, "FAILED_PRECONDITION", 400},
		{"finish", `{"name":"batches/nope","outcome":"failed"}`, "NOT_FOUND", 404},
		{"finish", `{"name":"` + id + `","outcome":"exploded"}`, "INVALID_ARGUMENT", 400},
		{"finish", `{"name":"` + id + `","outcme":"failed"}`, "INVALID_ARGUMENT", 400},
		{"finish", `{}`, "INVALID_ARGUMENT", 400},
		{"nothing", `{}`, "NOT_FOUND", 404},
	} {
		code, out := callJSON(t, s, "POST", ControlPath+tc.path, key, tc.body)
		if code != tc.code || errStatus(out) != tc.status {
			t.Errorf("%s %s: %d %v, want %d %s", tc.path, tc.body, code, out, tc.code, tc.status)
		}
	}

	code, list := callJSON(t, s, "GET", ControlPath+"jobs", key, "")
	if jobs, _ := list["jobs"].([]any); code != 200 || len(jobs) != 1 || jobs[0].(map[string]any)["name"] != id {
		t.Fatalf("jobs: %d %v", code, list)
	}
	waitFor(t, func() bool {
		_, ds := callJSON(t, s, "GET", ControlPath+"deliveries", key, "")
		list, _ := ds["deliveries"].([]any)
		return len(list) == 3
	})

	off := NewServer(Options{JobDuration: -1})
	defer off.Close()
	if code, _ := callJSON(t, off, "GET", ControlPath+"jobs", "", ""); code != http.StatusNotFound {
		t.Fatalf("control API served without Options.Control: %d", code)
	}
}

// A job that ends without success reports one google.rpc code in its
// operation's error and its event's error_code.
func TestErrorCodesAgree(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: -1})
	defer s.Close()
	for _, outcome := range []string{Failed, Expired, Cancelled} {
		_, op := callJSON(t, s, "POST", "/v1beta/models/veo:predictLongRunning", "",
			`{"instances":[{"prompt":"x"}],"webhookConfig":{"uris":["`+rc.URL+`"]}}`)
		name := op["name"].(string)
		if err := s.Finish(name, outcome); err != nil {
			t.Fatal(err)
		}
		data := rc.next(t).envelope(t)["data"].(map[string]any)
		_, got := callJSON(t, s, "GET", "/v1beta/"+name, "", "")
		opCode := got["error"].(map[string]any)["code"]
		if data["error_code"] != opCode || opCode != float64(rpcCode(outcome)) {
			t.Errorf("%s: event error_code %v, operation code %v", outcome, data["error_code"], opCode)
		}
	}
}

// With GoogleFileURIs a generated video's URI has the real API's https form,
// which genai's Files.Download maps onto the Server.
func TestGoogleFileURIs(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := NewServer(Options{JobDuration: time.Millisecond, GoogleFileURIs: true})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()
	op, err := c.Models.GenerateVideosFromSource(ctx, "veo", &genai.GenerateVideosSource{Prompt: "x"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for !op.Done {
		if op, err = c.Operations.GetVideosOperation(ctx, op, nil); err != nil {
			t.Fatal(err)
		}
	}
	v := op.Response.GeneratedVideos[0]
	if !strings.HasPrefix(v.Video.URI, GoogleFilesURL+"files/") {
		t.Fatalf("URI %s", v.Video.URI)
	}
	b, err := c.Files.Download(ctx, genai.NewDownloadURIFromGeneratedVideo(v), nil)
	if err != nil || !strings.HasPrefix(string(b), "gemhooktest video") {
		t.Fatalf("download: %q, %v", b, err)
	}
}
