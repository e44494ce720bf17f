package gemhook

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// The key set's own behaviour (fetching, refreshing, caps, every reason a
// token is refused) is tested in internal/keyset. The tests here check what
// a Receiver's users see of it: per-request deliveries verify through
// Verify and ServeHTTP, and its errors are the sentinels of errors.go.

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

// ksStandard is the usual set: e1..e3 and r1.
func ksStandard(t testing.TB) []byte {
	t.Helper()
	doc, err := signature.MarshalJWKS(
		signature.JWK{KID: "e1", Key: ksEd(0).Public()},
		signature.JWK{KID: "e2", Key: ksEd(1).Public()},
		signature.JWK{KID: "e3", Key: ksEd(2).Public()},
		signature.JWK{KID: "r1", Key: &ksRSA(0).PublicKey},
	)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

const (
	ksBody     = `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-02T03:04:05Z","data":{"id":"batches/abc","output_file_uri":"gs://b/o.jsonl"}}`
	ksAudience = "https://hooks.example/gemini"
)

var ksEpoch = time.Unix(1_800_000_000, 0)

// ksServer plays Gemini's JWKS endpoint as the Receiver's HTTP transport:
// no network, and every request counted. Its status is 200 unless set.
type ksServer struct {
	doc    []byte
	status atomic.Int32
	hits   atomic.Int64
}

func (s *ksServer) RoundTrip(req *http.Request) (*http.Response, error) {
	s.hits.Add(1)
	status := http.StatusOK
	if st := s.status.Load(); st != 0 {
		status = int(st)
	}
	return &http.Response{StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(s.doc)),
		ContentLength: int64(len(s.doc)), Request: req}, nil
}

// ksFixture is a Receiver of per-request deliveries, on a clock that
// stands still, whose key set comes from srv.
type ksFixture struct {
	srv *ksServer
	r   *Receiver
	now time.Time
}

func newKS(t testing.TB, doc []byte, mod func(*ReceiverConfig)) *ksFixture {
	t.Helper()
	f := &ksFixture{srv: &ksServer{doc: doc}, now: ksEpoch}
	cfg := ReceiverConfig{JWKSURL: GeminiJWKSURL, HTTPClient: &http.Client{Transport: f.srv}, Now: func() time.Time { return ksEpoch }}
	if mod != nil {
		mod(&cfg)
	}
	r, err := NewReceiver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	t.Cleanup(func() { r.Close() })
	return f
}

func withAudience(c *ReceiverConfig) { c.Audience = ksAudience }

// headersAt returns the webhook headers of a delivery stamped at ts.
func (f *ksFixture) headersAt(ts time.Time, id string, sig ...string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Webhook-Id", id)
	h.Set("Webhook-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("Webhook-Signature", strings.Join(sig, " "))
	return h
}

// headers returns the webhook headers of a delivery stamped now.
func (f *ksFixture) headers(id string, sig ...string) http.Header {
	return f.headersAt(f.now, id, sig...)
}

// v1a signs body as delivery id now with key.
func (f *ksFixture) v1a(key ed25519.PrivateKey, id string, body []byte) http.Header {
	ts := strconv.FormatInt(f.now.Unix(), 10)
	return f.headers(id, signature.SignV1a(key, id, ts, body))
}

// jws signs claims for body with RSA key r1, valid now for ksAudience.
func (f *ksFixture) jws(t testing.TB, body string, edit func(map[string]any)) string {
	t.Helper()
	c := map[string]any{}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	c["iat"], c["exp"] = f.now.Unix(), f.now.Add(5*time.Minute).Unix()
	c["iss"], c["aud"] = signature.GeminiIssuer, ksAudience
	if edit != nil {
		edit(c)
	}
	claims, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signature.SignJWS(ksRSA(0), "r1", claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
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

// Per-request deliveries verify through Verify and ServeHTTP, with every
// published key, v1a and JWS alike, from one fetch of the set.
func TestPerRequestDeliveries(t *testing.T) {
	t.Parallel()
	f := newKS(t, ksStandard(t), withAudience)
	body := []byte(ksBody)
	for i := range 3 {
		ev, err := f.verify(f.v1a(ksEd(i), "msg_"+strconv.Itoa(i), body), body)
		if err != nil {
			t.Fatalf("v1a, key %d: %v", i, err)
		}
		if ev.Scheme != "v1a" || ev.Resource != "batches/abc" || ev.DedupeKey() != "id:msg_"+strconv.Itoa(i) {
			t.Fatalf("v1a, key %d: event %+v", i, ev)
		}
	}
	tok := f.jws(t, ksBody, nil)
	ev, err := f.verify(f.headers("msg_jws", tok), body)
	if err != nil {
		t.Fatalf("JWS: %v", err)
	}
	if ev.Scheme != "jws" || ev.Type != "batch.succeeded" || ev.Resource != "batches/abc" || !strings.HasPrefix(ev.DedupeKey(), "jws:") {
		t.Fatalf("JWS: event %+v, dedupe key %q", ev, ev.DedupeKey())
	}
	for name, h := range map[string]http.Header{"v1a": f.v1a(ksEd(1), "msg_http", body), "jws": f.headers("msg_http_jws", tok)} {
		if rec := f.serveHTTP(h, body); rec.Code != http.StatusNoContent {
			t.Fatalf("ServeHTTP, %s: %d", name, rec.Code)
		}
	}
	if n := f.srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

// The key set's errors reach Verify's callers as the sentinels errors.go
// promises, and ServeHTTP answers them by those: a forgery is 401, a
// delivery that could not be checked 503 with Retry-After.
func TestKeySetErrors(t *testing.T) {
	t.Parallel()
	body := []byte(ksBody)
	_, outsider, _ := ed25519.GenerateKey(rand.Reader)
	forged := func(t *testing.T, what string, err error, rec *httptest.ResponseRecorder) {
		t.Helper()
		if !errors.Is(err, ErrNoMatchingSignature) || errors.Is(err, ErrKeysUnavailable) || errors.Is(err, ErrClosed) {
			t.Fatalf("%s: %v, want ErrNoMatchingSignature only", what, err)
		}
		if !strings.HasPrefix(err.Error(), ErrNoMatchingSignature.Error()+": ") || strings.Contains(err.Error(), "keyset") {
			t.Fatalf("%s: the error reads %q", what, err)
		}
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("%s: ServeHTTP %d, want 401", what, rec.Code)
		}
	}
	t.Run("forged", func(t *testing.T) {
		f := newKS(t, ksStandard(t), withAudience)
		h := f.v1a(outsider, "msg_forged", body)
		_, err := f.verify(h, body)
		forged(t, "v1a by another key", err, f.serveHTTP(h, body))
		h = f.headers("msg_expired", f.jws(t, ksBody, func(c map[string]any) { c["exp"] = f.now.Add(-time.Hour).Unix() }))
		_, err = f.verify(h, body)
		forged(t, "expired token", err, f.serveHTTP(h, body))
		if !strings.Contains(err.Error(), "expired") {
			t.Fatalf("the error does not say why: %v", err)
		}
		h = f.headers("msg_bound", f.jws(t, strings.Replace(ksBody, "abc", "other", 1), nil))
		_, err = f.verify(h, body)
		forged(t, "token of another event", err, f.serveHTTP(h, body))
	})
	t.Run("keys unavailable", func(t *testing.T) {
		meters := newMeters()
		f := newKS(t, ksStandard(t), func(c *ReceiverConfig) {
			withAudience(c)
			c.MeterProvider = meters
		})
		f.srv.status.Store(http.StatusInternalServerError)
		for name, h := range map[string]http.Header{"v1a": f.v1a(ksEd(0), "msg_down", body), "jws": f.headers("msg_down_jws", f.jws(t, ksBody, nil))} {
			_, err := f.verify(h, body)
			if !errors.Is(err, ErrKeysUnavailable) || errors.Is(err, ErrNoMatchingSignature) || errors.Is(err, ErrClosed) {
				t.Fatalf("%s: %v, want ErrKeysUnavailable only", name, err)
			}
			if !strings.HasPrefix(err.Error(), ErrKeysUnavailable.Error()+": ") || !strings.Contains(err.Error(), "500") {
				t.Fatalf("%s: the error reads %q", name, err)
			}
			wantUnavailable(t, f.serveHTTP(h, body))
		}
		// One failed fetch: the others came within its retry gap.
		if n, _ := meters.sum("gemhook.keyset.fetches", "error.type=fetch_failed"); n != 1 {
			t.Fatalf("%v failed fetches counted, want 1:\n%s", n, meters.text())
		}
	})
	t.Run("caller gave up", func(t *testing.T) {
		f := newKS(t, ksStandard(t), nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := f.r.Verify(ctx, f.v1a(ksEd(0), "msg_gone", body), body); !errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("%v, want ErrKeysUnavailable and context.Canceled", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		f := newKS(t, ksStandard(t), nil)
		f.r.Close()
		_, err := f.verify(f.v1a(ksEd(0), "msg_late", body), body)
		if !errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, ErrClosed) || errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("%v, want ErrKeysUnavailable and ErrClosed", err)
		}
		if n := f.srv.hits.Load(); n != 0 {
			t.Fatalf("a closed Receiver fetched the key set %d times", n)
		}
	})
	t.Run("bad JWKS URL", func(t *testing.T) {
		for _, u := range []string{"ftp://keys.example/jwks", "/relative/jwks.json", "https://", "::"} {
			if r, err := NewReceiver(ReceiverConfig{JWKSURL: u}); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "JWKSURL") {
				if r != nil {
					r.Close()
				}
				t.Fatalf("%q: %v, want ErrInvalidConfig naming JWKSURL", u, err)
			}
		}
	})
}

// A receiver that accepts per-request deliveries fetches no keys while
// only project-level ones, or signatures of the wrong shape, arrive.
func TestKeySetIsLazy(t *testing.T) {
	t.Parallel()
	secret := signature.EncodeSecret([]byte("0123456789abcdef0123456789abcdef"))
	f := newKS(t, ksStandard(t), func(c *ReceiverConfig) { c.Secrets = []string{secret} })
	key, _ := signature.DecodeSecret(secret)
	ts := strconv.FormatInt(f.now.Unix(), 10)
	body := []byte(ksBody)
	if _, err := f.verify(f.headers("msg_1", signature.SignV1(key, "msg_1", ts, body)), body); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{"aaa.bbb.ccc", "v1a,c2hvcnQ="} {
		if _, err := f.verify(f.headers("msg_2", sig), body); !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("%s: %v", sig, err)
		}
	}
	if n := f.srv.hits.Load(); n != 0 {
		t.Fatalf("%d fetches of the key set", n)
	}
}

// J-16 and J-17: other serializations and oversized tokens are refused
// early, as malformed (400) or unauthenticated (401), without a fetch.
func TestJWSShapes(t *testing.T) {
	t.Parallel()
	f := newKS(t, ksStandard(t), nil)
	seg := strings.Repeat("A", 1<<20)
	for name, sig := range map[string]string{
		"JSON serialization without protected": `{"payload":"e30","signatures":[{"signature":"AAAA"}]}`,
		"flattened JSON":                       `{"payload":"e30","signature":"AAAA","header":{"alg":"RS256","kid":"r1"}}`,
		"Bearer and dots":                      "Bearer " + strings.Repeat(".", 1<<20),
		"three 1 MB segments":                  seg + "." + seg + "." + seg,
		"just over the list cap":               strings.Repeat("a", signature.MaxListLen-3) + ".b.c",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := f.verify(f.headers("msg_1", sig), []byte(ksBody)); err == nil {
				t.Fatal("accepted")
			}
			rec := f.serveHTTP(f.headers("msg_1", sig), []byte(ksBody))
			if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d", rec.Code)
			}
		})
	}
	if n := f.srv.hits.Load(); n != 0 {
		t.Fatalf("%d fetches for tokens that could not verify", n)
	}
}
