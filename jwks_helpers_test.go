package gemhook

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/fakeclock"
	"github.com/gemhook/gemhook/internal/signature"
)

// Test keys: three Ed25519 keys (kids e1..e3) and two RSA keys (r1, r2),
// generated once per test binary.
var ksKeys = sync.OnceValue(func() (k struct {
	ed  [3]ed25519.PrivateKey
	rsa [2]*rsa.PrivateKey
}) {
	for i := range k.ed {
		_, k.ed[i], _ = ed25519.GenerateKey(rand.Reader)
	}
	for i := range k.rsa {
		var err error
		if k.rsa[i], err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	}
	return k
})

func ksEd(i int) ed25519.PrivateKey { return ksKeys().ed[i] }
func ksRSA(i int) *rsa.PrivateKey   { return ksKeys().rsa[i] }

// ksDoc is a JWKS document of the given keys.
func ksDoc(t testing.TB, keys ...signature.JWK) []byte {
	t.Helper()
	doc, err := signature.MarshalJWKS(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// ksStandard is the usual set: e1..e3 and r1.
func ksStandard(t testing.TB) []byte {
	return ksDoc(t,
		signature.JWK{KID: "e1", Key: ksEd(0).Public()},
		signature.JWK{KID: "e2", Key: ksEd(1).Public()},
		signature.JWK{KID: "e3", Key: ksEd(2).Public()},
		signature.JWK{KID: "r1", Key: &ksRSA(0).PublicKey},
	)
}

// ksServer serves a key set and can misbehave on demand. Every request is
// counted and announced on hit.
type ksServer struct {
	*httptest.Server
	mu       sync.Mutex
	handler  http.HandlerFunc // nil: serve doc
	doc      []byte
	cache    string
	hits     atomic.Int64
	hit      chan struct{}
	released chan struct{}
}

func newKSServer(t testing.TB, doc []byte) *ksServer {
	s := &ksServer{doc: doc, hit: make(chan struct{}, 4096), released: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		h, doc, cache := s.handler, s.doc, s.cache
		s.mu.Unlock()
		defer func() { s.hit <- struct{}{} }()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if cache != "" {
			w.Header().Set("Cache-Control", cache)
		}
		w.Write(doc)
	}))
	return s
}

func (s *ksServer) serve(doc []byte) {
	s.mu.Lock()
	s.handler, s.doc = nil, doc
	s.mu.Unlock()
}

func (s *ksServer) misbehave(h http.HandlerFunc) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// hang makes requests block until the test ends or the client gives up.
func (s *ksServer) hang() {
	s.misbehave(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-s.released:
		}
	})
}

func (s *ksServer) close() {
	close(s.released)
	s.Close()
}

// waitHits waits (on the server, not on a clock) until n requests have
// been answered in all.
func (s *ksServer) waitHits(t testing.TB, n int64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for s.hits.Load() < n {
		select {
		case <-s.hit:
		case <-deadline:
			t.Fatalf("server saw %d requests, want %d", s.hits.Load(), n)
		}
	}
}

// ksFixture is a Receiver on a fake clock whose key set comes from srv.
type ksFixture struct {
	clk *fakeclock.Clock
	srv *ksServer
	r   *Receiver
	k   *keySet
}

var ksEpoch = time.Unix(1_800_000_000, 0)

func newKS(t testing.TB, doc []byte, mod func(*ReceiverConfig)) *ksFixture {
	t.Helper()
	f := &ksFixture{clk: fakeclock.New(ksEpoch), srv: newKSServer(t, doc)}
	cfg := ReceiverConfig{JWKSURL: f.srv.URL + "/.well-known/jwks.json", Now: f.clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	r, err := NewReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.r, f.k = r, r.keys
	// Real waits short enough for tests; nothing has started yet.
	f.k.t.fetchTimeout = 2 * time.Second
	f.k.t.maxWait = 2 * time.Second
	return f
}

func (f *ksFixture) close() {
	f.r.Close()
	f.srv.close()
}

// headers returns the webhook headers for a delivery stamped now.
func (f *ksFixture) headers(id string, sig ...string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Webhook-Id", id)
	h.Set("Webhook-Timestamp", strconv.FormatInt(f.clk.Now().Unix(), 10))
	for i, s := range sig {
		if i == 0 {
			h.Set("Webhook-Signature", s)
		} else {
			h.Set("Webhook-Signature", h.Get("Webhook-Signature")+" "+s)
		}
	}
	return h
}

// v1a signs body as delivery id now with Ed25519 key i.
func (f *ksFixture) v1a(i int, id string, body []byte) http.Header {
	ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
	return f.headers(id, signature.SignV1a(ksEd(i), id, ts, body))
}

func (f *ksFixture) verify(h http.Header, body []byte) (*Event, error) {
	return f.r.Verify(context.Background(), h, body)
}

// serveHTTP posts through ServeHTTP and returns the recorder.
func (f *ksFixture) serveHTTP(h http.Header, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
	req.Header = h.Clone()
	rec := httptest.NewRecorder()
	f.r.ServeHTTP(rec, req)
	return rec
}

const ksBody = `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-02T03:04:05Z","data":{"id":"batches/abc","output_file_uri":"gs://b/o.jsonl"}}`

// claims returns the claim set of a token for body, valid now.
func (f *ksFixture) claims(t testing.TB, body string, edit func(map[string]any)) []byte {
	t.Helper()
	now := f.clk.Now()
	c := map[string]any{}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	c["iat"] = now.Unix()
	c["exp"] = now.Add(5 * time.Minute).Unix()
	c["iss"] = signature.GeminiIssuer
	if edit != nil {
		edit(c)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rawJWS signs any header and claims, for tokens SignJWS would refuse to
// make. alg picks the signing operation; the header says what it says.
func rawJWS(t testing.TB, hdr string, claims []byte, alg string, key any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(hdr)) + "." + enc.EncodeToString(claims)
	var sig []byte
	switch alg {
	case "RS256":
		sum := sha256.Sum256([]byte(input))
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, sum[:]); err != nil {
			t.Fatal(err)
		}
	case "EdDSA":
		sig = ed25519.Sign(key.(ed25519.PrivateKey), []byte(input))
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none":
	}
	return input + "." + enc.EncodeToString(sig)
}
