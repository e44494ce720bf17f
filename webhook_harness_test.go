package gemhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The Standard Webhooks reference libraries' test vector inputs.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = "1614265330"
	vecBody   = `{"test": 2432232314}`
)

var vecTime = time.Unix(1614265330, 0)

// eventBody is a valid event for a job, used where the vector's body would
// do but an event reads better.
const eventBody = `{"type":"batch.succeeded","version":"v1","timestamp":"2021-02-25T15:02:10Z","data":{"id":"batches/abc","output_file_uri":"gs://b/o.jsonl"}}`

// refKey decodes a secret the way the Standard Webhooks reference
// libraries do, written here independently of internal/signature: strip
// whsec_, restore the padding, lenient standard base64.
func refKey(t testing.TB, secret string) []byte {
	t.Helper()
	s := strings.TrimPrefix(secret, "whsec_")
	if n := len(s) % 4; n != 0 {
		s += strings.Repeat("=", 4-n)
	}
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("refKey(%q): %v", secret, err)
	}
	return k
}

// refSign is an independent v1 signer: crypto/hmac over id.ts.body.
func refSign(t testing.TB, secret, id, ts string, body []byte) string {
	t.Helper()
	m := hmac.New(sha256.New, refKey(t, secret))
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func signedHeader(t testing.TB, secret, id, ts string, body []byte) http.Header {
	t.Helper()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Webhook-Id", id)
	h.Set("Webhook-Timestamp", ts)
	h.Set("Webhook-Signature", refSign(t, secret, id, ts, body))
	return h
}

// harness is a Receiver whose clock stands at the vector's timestamp and
// whose dispatches and OnEvent calls are counted.
type harness struct {
	r      *Receiver
	store  *hookStore
	events atomic.Int32
}

// hookStore is a Store that counts the events dispatch hands it and can
// make Deliver fail, block or panic before the real store sees them.
type hookStore struct {
	Store
	delivered atomic.Int32
	// hook, if set, runs first; its error is Deliver's.
	hook func() error
}

func (s *hookStore) Deliver(ctx context.Context, key, id string, ev JobEvent) (bool, error) {
	s.delivered.Add(1)
	if s.hook != nil {
		if err := s.hook(); err != nil {
			return false, err
		}
	}
	return s.Store.Deliver(ctx, key, id, ev)
}

// noJWKS as ReceiverConfig.JWKSURL makes newHarness build a receiver of
// project secrets only.
const noJWKS = "none"

func newHarness(t testing.TB, cfg ReceiverConfig) *harness {
	t.Helper()
	h := &harness{store: &hookStore{Store: NewMemoryStore(MemoryStoreConfig{})}}
	if cfg.Store == nil {
		cfg.Store = h.store
	}
	if cfg.Secrets == nil {
		cfg.Secrets = []string{vecSecret}
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return vecTime }
	}
	switch cfg.JWKSURL {
	case "":
		cfg.JWKSURL = "http://127.0.0.1:1/jwks.json" // never the real one
	case noJWKS:
		cfg.JWKSURL = ""
	}
	user := cfg.OnEvent
	cfg.OnEvent = func(ctx context.Context, ev *Event) {
		h.events.Add(1)
		if user != nil {
			user(ctx, ev)
		}
	}
	r, err := NewReceiver(cfg)
	if err != nil {
		t.Fatalf("NewReceiver: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	h.r = r
	return h
}

// holdDispatch makes dispatches block until release is closed and then
// return result; entered is closed when the first one starts.
func (h *harness) holdDispatch(result error) (entered, release chan struct{}) {
	entered, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.store.hook = func() error {
		once.Do(func() { close(entered) })
		<-release
		return result
	}
	return entered, release
}

// post sends a POST with hdr and body through ServeHTTP.
func (h *harness) post(hdr http.Header, body []byte) *httptest.ResponseRecorder {
	return h.do(http.MethodPost, hdr, body)
}

func (h *harness) do(method string, hdr http.Header, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/hooks/gemini", bytes.NewReader(body))
	req.Header = hdr.Clone()
	rec := httptest.NewRecorder()
	h.r.ServeHTTP(rec, req)
	return rec
}

// untouched fails t if anything stateful happened.
func (h *harness) untouched(t testing.TB) { t.Helper(); h.accepted(t, 0) }

// acceptedOnce fails t unless exactly one delivery went through.
func (h *harness) acceptedOnce(t testing.TB) { t.Helper(); h.accepted(t, 1) }

// accepted fails t unless n deliveries were remembered and shown to
// OnEvent, and no more than n reached the Store (events that name no job
// never do).
func (h *harness) accepted(t testing.TB, n int) {
	t.Helper()
	if got := int(h.store.delivered.Load()); got > n {
		t.Errorf("the store got %d events, want at most %d", got, n)
	}
	if got := h.r.seen.Len(); got != n {
		t.Errorf("dedupe holds %d entries, want %d", got, n)
	}
	if got := int(h.events.Load()); got != n {
		t.Errorf("OnEvent ran %d times, want %d", got, n)
	}
}

// postAsync posts d from another goroutine; the channel gets its status.
func (h *harness) postAsync(d delivery) <-chan int {
	code := make(chan int, 1)
	go func() { code <- h.post(d.hdr, d.body).Code }()
	return code
}

var errFull = errors.New("orphan buffer full")

func newPost(d delivery) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/hooks/gemini", bytes.NewReader(d.body))
	req.Header = d.hdr.Clone()
	return req
}

func recorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
