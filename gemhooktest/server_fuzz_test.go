package gemhooktest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Whatever arrives, the API answers with JSON: a resource or Google's
// error envelope, never a panic or a text/plain body.
func FuzzAPI(f *testing.F) {
	f.Add("POST", "/v1beta/models/m:batchGenerateContent", `{"batch":{"inputConfig":{"fileName":"files/a"}}}`)
	f.Add("POST", "/v1beta/models/veo:predictLongRunning", `{"instances":[{"prompt":"x"}],"webhookConfig":{"uris":["http://127.0.0.1:1/"]}}`)
	f.Add("POST", "/v1beta/interactions", `{"model":"m","input":"x","background":true}`)
	f.Add("PATCH", "/v1beta/webhooks/x?update_mask=state", `{"state":"enabled"}`)
	f.Add("GET", "/v1/batches?pageToken=%ff", "")
	f.Add("POST", "/v1beta/webhooks", `{"uri":"http://[::1","subscribed_events":[]}`)
	s := NewServer(Options{JobDuration: -1})
	f.Cleanup(s.Close)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") || method == "" || strings.ContainsAny(method, " \r\n\t/") {
			return
		}
		req, err := http.NewRequest(method, "http://emulator"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "video/") {
			t.Fatalf("%s %s: Content-Type %q", method, target, ct)
		}
		if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %s: invalid JSON %q", method, target, w.Body.String())
		}
		if w.Code >= 400 && !strings.Contains(w.Body.String(), `"error"`) {
			t.Fatalf("%s %s: %d without an error envelope", method, target, w.Code)
		}
	})
}
