package gemhooktest

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genai"
)

// hit is one request a test receiver got.
type hit struct {
	path   string
	header http.Header
	body   []byte
}

func (h hit) id() string  { return h.header.Get("webhook-id") }
func (h hit) ts() string  { return h.header.Get("webhook-timestamp") }
func (h hit) sig() string { return h.header.Get("webhook-signature") }

func (h hit) envelope(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.body, &m); err != nil {
		t.Fatalf("delivery body is not JSON: %v: %s", err, h.body)
	}
	return m
}

// receiver is an httptest server that records deliveries and answers with
// the status its answer function picks (204 by default).
type receiver struct {
	*httptest.Server
	hits   chan hit
	mu     sync.Mutex
	answer func(n int, h hit) int
	n      int
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{hits: make(chan hit, 1000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hit{path: r.URL.Path, header: r.Header.Clone(), body: body}
		rc.mu.Lock()
		rc.n++
		n, answer := rc.n, rc.answer
		rc.mu.Unlock()
		code := http.StatusNoContent
		if answer != nil {
			code = answer(n, h)
		}
		w.WriteHeader(code)
		rc.hits <- h
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setAnswer(f func(n int, h hit) int) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// next waits for the next delivery.
func (rc *receiver) next(t *testing.T) hit {
	t.Helper()
	select {
	case h := <-rc.hits:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10s")
	}
	return hit{}
}

// none checks that nothing arrives within d.
func (rc *receiver) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case h := <-rc.hits:
		t.Fatalf("unexpected delivery %s: %s", h.id(), h.body)
	case <-time.After(d):
	}
}

// newClient returns a real genai client pointed at s, with its own
// transport so that the test leaves no idle connections behind.
func newClient(t *testing.T, s *Server) *genai.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := s.ClientConfig()
	cfg.HTTPClient = &http.Client{Transport: tr, Timeout: 20 * time.Second}
	c, err := genai.NewClient(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verifyV1 checks a delivery as the Standard Webhooks spec says, written
// out here rather than taken from the package under test: the key is the
// standard-base64 secret after "whsec_", the MAC is HMAC-SHA256 over
// id.timestamp.body, and any "v1," entry of the space-separated list may
// match.
func verifyV1(t *testing.T, secret string, h hit, now time.Time) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("secret %q is not whsec_ + standard base64: %v", secret, err)
	}
	checkTimestamp(t, h, now)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.id() + "." + h.ts() + "."))
	mac.Write(h.body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, e := range strings.Fields(h.sig()) {
		if v, sig, ok := strings.Cut(e, ","); ok && v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return
		}
	}
	t.Fatalf("no v1 entry of %q verifies with the secret", h.sig())
}

// verifyV1a checks that the delivery carries only v1a entries and that one
// verifies with a key of the published JWKS.
func verifyV1a(t *testing.T, jwksURL string, h hit, now time.Time) {
	t.Helper()
	checkTimestamp(t, h, now)
	keys := fetchEdKeys(t, jwksURL)
	msg := []byte(h.id() + "." + h.ts() + "." + string(h.body))
	entries := strings.Fields(h.sig())
	if len(entries) == 0 {
		t.Fatal("empty webhook-signature")
	}
	for _, e := range entries {
		v, sig, ok := strings.Cut(e, ",")
		if !ok || v != "v1a" {
			t.Fatalf("per-request delivery carries %q, want only v1a entries", e)
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			t.Fatalf("v1a signature is not padded standard base64: %v", err)
		}
		for _, k := range keys {
			if ed25519.Verify(k, msg, raw) {
				return
			}
		}
	}
	t.Fatalf("no v1a entry of %q verifies with the %d published keys", h.sig(), len(keys))
}

func checkTimestamp(t *testing.T, h hit, now time.Time) {
	t.Helper()
	if h.id() == "" || strings.Contains(h.id(), ".") {
		t.Fatalf("bad webhook-id %q", h.id())
	}
	var sec int64
	if err := json.Unmarshal([]byte(h.ts()), &sec); err != nil || h.ts() == "" {
		t.Fatalf("webhook-timestamp %q is not Unix seconds", h.ts())
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		t.Fatalf("webhook-timestamp %s is %v away from now", h.ts(), d)
	}
}

// jwkJSON is one key of a JWKS, as the tests read it independently of
// the emulator's own encoder.
type jwkJSON struct{ Kty, Crv, Kid, X, N, E string }

// fetchJWKS reads the keys of the JWKS at url.
func fetchJWKS(t *testing.T, url string) []jwkJSON {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Keys []jwkJSON `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Keys
}

// fetchEdKeys reads the OKP Ed25519 keys of a JWKS over HTTP.
func fetchEdKeys(t *testing.T, url string) []ed25519.PublicKey {
	t.Helper()
	var out []ed25519.PublicKey
	for _, k := range fetchJWKS(t, url) {
		if k.Kty == "OKP" && k.Crv == "Ed25519" {
			x, err := base64.RawURLEncoding.DecodeString(k.X)
			if err != nil || len(x) != ed25519.PublicKeySize {
				t.Fatalf("bad x in key %s", k.Kid)
			}
			out = append(out, ed25519.PublicKey(x))
		}
	}
	return out
}

func inlineSource(texts ...string) *genai.BatchJobSource {
	src := &genai.BatchJobSource{}
	for i, txt := range texts {
		src.InlinedRequests = append(src.InlinedRequests, &genai.InlinedRequest{
			Contents: []*genai.Content{{Role: "user", Parts: []*genai.Part{{Text: txt}}}},
			Metadata: map[string]string{"key": string(rune('a' + i))},
		})
	}
	return src
}
