package keyset

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// Test keys: three Ed25519 keys (kids e1..e3) and two RSA keys (r1, r2),
// generated once per test binary.
var testKeys = sync.OnceValue(func() (k struct {
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

func edKey(i int) ed25519.PrivateKey { return testKeys().ed[i] }
func rsaKey(i int) *rsa.PrivateKey   { return testKeys().rsa[i] }

func outsider(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// jwksDoc is a JWKS document of the given keys.
func jwksDoc(t testing.TB, keys ...signature.JWK) []byte {
	t.Helper()
	doc, err := signature.MarshalJWKS(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// standardDoc is the usual set: e1..e3 and r1.
func standardDoc(t testing.TB) []byte {
	return jwksDoc(t,
		signature.JWK{KID: "e1", Key: edKey(0).Public()},
		signature.JWK{KID: "e2", Key: edKey(1).Public()},
		signature.JWK{KID: "e3", Key: edKey(2).Public()},
		signature.JWK{KID: "r1", Key: &rsaKey(0).PublicKey},
	)
}

const (
	testURL   = "https://keys.example/.well-known/jwks.json"
	testID    = "msg_1"
	testTS    = "1800000000" // the key set does not check timestamps
	eventBody = `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-02T03:04:05Z","data":{"id":"batches/abc","output_file_uri":"gs://b/o.jsonl"}}`
	audience  = "https://hooks.example/gemini"
)

// keyServer plays the JWKS endpoint as the fetching client's transport,
// so a Set fetches from it without a network, inside a synctest bubble as
// well as out of one. Every request is counted.
type keyServer struct {
	mu      sync.Mutex
	doc     []byte
	cache   string                                      // Cache-Control of doc
	respond func(*http.Request) (*http.Response, error) // nil: serve doc
	hits    atomic.Int64
}

func (s *keyServer) RoundTrip(req *http.Request) (*http.Response, error) {
	s.hits.Add(1)
	s.mu.Lock()
	respond, doc, cache := s.respond, s.doc, s.cache
	s.mu.Unlock()
	if respond != nil {
		return respond(req)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if cache != "" {
		h.Set("Cache-Control", cache)
	}
	return reply(req, http.StatusOK, h, bytes.NewReader(doc), int64(len(doc))), nil
}

func (s *keyServer) serve(doc []byte) {
	s.mu.Lock()
	s.respond, s.doc = nil, doc
	s.mu.Unlock()
}

func (s *keyServer) misbehave(respond func(*http.Request) (*http.Response, error)) {
	s.mu.Lock()
	s.respond = respond
	s.mu.Unlock()
}

// hang makes requests block until the client gives up.
func (s *keyServer) hang() {
	s.misbehave(func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
}

// reply is a response of the given status, headers and body; size is its
// Content-Length, or -1.
func reply(req *http.Request, status int, h http.Header, body io.Reader, size int64) *http.Response {
	return &http.Response{
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode: status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(body), ContentLength: size, Request: req,
	}
}

func fail500(req *http.Request) (*http.Response, error) {
	return reply(req, http.StatusInternalServerError, http.Header{}, bytes.NewReader([]byte("boom")), 4), nil
}

// fixture is a Set fetching from a keyServer. Its clock is time.Now,
// which inside a synctest bubble tests move with time.Sleep, unless a
// test sets Config.Now.
type fixture struct {
	srv *keyServer
	set *Set
	now func() time.Time
}

func newFixture(t testing.TB, doc []byte, mods ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{srv: &keyServer{doc: doc}, now: time.Now}
	cfg := Config{URL: testURL, Client: &http.Client{Transport: f.srv}}
	for _, m := range mods {
		m(&cfg)
	}
	if cfg.Now != nil {
		f.now = cfg.Now
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	f.set = s
	return f
}

func withAudience(c *Config) { c.Audience = audience }

// entries parses a webhook-signature list.
func entries(t testing.TB, list ...string) []signature.Entry {
	t.Helper()
	var es []signature.Entry
	for _, l := range list {
		e, err := signature.ParseList(l)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e...)
	}
	return es
}

// v1a verifies a delivery of eventBody signed by key.
func (f *fixture) v1a(t testing.TB, key ed25519.PrivateKey) error {
	t.Helper()
	body := []byte(eventBody)
	return f.set.VerifyV1a(t.Context(), entries(t, signature.SignV1a(key, testID, testTS, body)), testID, testTS, body)
}

// jws verifies a delivery of body carrying token tok.
func (f *fixture) jws(t testing.TB, tok, body string) (string, error) {
	t.Helper()
	return f.set.VerifyJWS(t.Context(), []signature.Entry{{Scheme: signature.SchemeJWS, Value: tok}}, []byte(body))
}

// claims returns the claim set of a token for body, valid now and for
// audience.
func (f *fixture) claims(t testing.TB, body string, edit func(map[string]any)) []byte {
	t.Helper()
	now := f.now()
	c := map[string]any{}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatal(err)
	}
	c["iat"] = now.Unix()
	c["exp"] = now.Add(5 * time.Minute).Unix()
	c["iss"] = signature.GeminiIssuer
	c["aud"] = audience
	if edit != nil {
		edit(c)
	}
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// token signs claims for body with RSA key r1 through the shared signer.
func (f *fixture) token(t testing.TB, body string, edit func(map[string]any)) string {
	t.Helper()
	tok, err := signature.SignJWS(rsaKey(0), "r1", f.claims(t, body, edit))
	if err != nil {
		t.Fatal(err)
	}
	return tok
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

// wantUnavailable checks that a delivery could not be checked, and is not
// taken for a forgery.
func wantUnavailable(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNoMatch) {
		t.Fatalf("%s: %v, want ErrUnavailable only", what, err)
	}
}

// wantForged checks that a delivery was refused as a forgery.
func wantForged(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrNoMatch) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("%s: %v, want ErrNoMatch only", what, err)
	}
}

func (f *fixture) wantHits(t testing.TB, n int64) {
	t.Helper()
	if got := f.srv.hits.Load(); got != n {
		t.Fatalf("%d fetches, want %d", got, n)
	}
}

// K-1: a failed first fetch is "unavailable", is retried within seconds,
// and verification resumes as soon as the set is back.
func TestDownThenBack(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, standardDoc(t))
		f.srv.misbehave(fail500)
		wantUnavailable(t, "first fetch failed", f.v1a(t, edKey(0)))
		f.wantHits(t, 1)
		f.srv.serve(standardDoc(t))
		wantUnavailable(t, "within the retry gap", f.v1a(t, edKey(0)))
		f.wantHits(t, 1)
		time.Sleep(failRetry)
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatal(err)
		}
		f.wantHits(t, 2)
	})
}

// K-2: an endpoint that never answers costs a verification maxWait, and
// the fetch itself gives up at fetchTimeout.
func TestHangingEndpoint(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, standardDoc(t))
		f.srv.hang()
		start := time.Now()
		wantUnavailable(t, "hanging fetch", f.v1a(t, edKey(0)))
		if d := time.Since(start); d != maxWait {
			t.Fatalf("the verification waited %v, want %v", d, maxWait)
		}
		f.srv.serve(standardDoc(t))
		time.Sleep(fetchTimeout - maxWait) // the hung fetch gives up now
		synctest.Wait()
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatalf("after the hung fetch timed out: %v", err)
		}
		f.wantHits(t, 2)
	})
}

// K-6: a set that cannot be refreshed is trusted up to the maximum
// staleness, then verification fails closed.
func TestMaxStaleness(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, standardDoc(t))
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatal(err)
		}
		f.srv.misbehave(fail500)
		// Half a tick off the refresher's, so no two wake together.
		time.Sleep(maxStale - tick/2)
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatalf("just within the staleness: %v", err)
		}
		time.Sleep(tick)
		wantUnavailable(t, "beyond the staleness", f.v1a(t, edKey(0)))
		f.srv.serve(standardDoc(t))
		time.Sleep(failRetry)
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatalf("once the set is back: %v", err)
		}
	})
}

// The refresher refreshes a due set in the background, woken by its
// ticker alone, and keys dropped from the set stop verifying.
func TestBackgroundRefresh(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, standardDoc(t))
		if err := f.v1a(t, edKey(2)); err != nil {
			t.Fatal(err)
		}
		f.srv.serve(jwksDoc(t, signature.JWK{KID: "e1", Key: edKey(0).Public()}))
		time.Sleep(defaultRefresh + time.Second)
		synctest.Wait()
		f.wantHits(t, 2)
		wantForged(t, "dropped key", f.v1a(t, edKey(2)))
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatal(err)
		}
	})
}

// Many verifications arriving together before the first fetch share it.
func TestFirstFetchIsShared(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, nil)
		gate := make(chan struct{})
		f.srv.misbehave(func(r *http.Request) (*http.Response, error) {
			<-gate
			doc := standardDoc(t)
			return reply(r, http.StatusOK, http.Header{}, bytes.NewReader(doc), int64(len(doc))), nil
		})
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Go(func() { errs <- f.v1a(t, edKey(i%3)) })
		}
		synctest.Wait() // all 50 wait for the one fetch
		f.wantHits(t, 1)
		close(gate)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		f.wantHits(t, 1)
	})
}

// A closed set keeps verifying with the set it holds while that is fresh
// enough, and then fails as closed.
func TestClosed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, standardDoc(t))
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatal(err)
		}
		f.set.Close()
		f.set.Close() // idempotent
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatalf("with a fresh set, after Close: %v", err)
		}
		time.Sleep(maxStale + time.Hour)
		err := f.v1a(t, edKey(0))
		wantUnavailable(t, "closed", err)
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("%v, want ErrClosed", err)
		}

		g := newFixture(t, standardDoc(t))
		g.set.Close()
		if err := g.v1a(t, edKey(0)); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("closed before any fetch: %v", err)
		}
		g.wantHits(t, 0)

		// The owner's error, when it gives one, stands in for ErrClosed.
		mine := errors.New("owner closed")
		h := newFixture(t, standardDoc(t), func(c *Config) { c.Closed = mine })
		h.set.Close()
		if err := h.v1a(t, edKey(0)); !errors.Is(err, mine) || !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrClosed) {
			t.Fatalf("closed, with Config.Closed: %v", err)
		}
	})
}

// Nothing is fetched, and no goroutine started, until a well-formed
// signature needs a key.
func TestLazy(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, standardDoc(t))
		body := []byte(eventBody)
		wantForged(t, "v1a signature of the wrong length", f.set.VerifyV1a(t.Context(), entries(t, "v1a,"+base64.StdEncoding.EncodeToString(make([]byte, 63))), testID, testTS, body))
		_, err := f.jws(t, "aaa.bbb.ccc", eventBody)
		wantForged(t, "JWS of the wrong shape", err)
		time.Sleep(2 * maxRefresh) // a refresher would have fetched by now
		f.wantHits(t, 0)
	})
}

// A signature that matches no held key while the set cannot be refetched
// could be a rotation this side cannot see: it is unavailable, not a
// forgery, both for v1a and for a JWS with an unknown kid. The held keys
// keep verifying meanwhile, and once the set can be fetched again the
// same signature is a forgery.
func TestMissDuringOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, standardDoc(t), withAudience)
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatal(err)
		}
		stranger := outsider(t)
		unknownKID := func() error {
			tok, err := signature.SignJWS(stranger, "e9", f.claims(t, eventBody, nil))
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.jws(t, tok, eventBody)
			return err
		}
		wantForged(t, "v1a, set just fetched", f.v1a(t, stranger))
		wantForged(t, "jws, set just fetched", unknownKID())

		f.srv.misbehave(fail500)
		time.Sleep(missCooldown)
		wantUnavailable(t, "v1a, refetch failed", f.v1a(t, stranger))
		wantUnavailable(t, "jws, within the cooldown of a failed refetch", unknownKID())
		if err := f.v1a(t, edKey(1)); err != nil {
			t.Fatalf("a held key: %v", err)
		}
		f.wantHits(t, 2)

		f.srv.serve(standardDoc(t))
		time.Sleep(missCooldown)
		wantForged(t, "jws, refetched", unknownKID())
		wantForged(t, "v1a, within the cooldown of a good refetch", f.v1a(t, stranger))
		f.wantHits(t, 3)
	})
}

// A verification whose refetch falls within the cooldown of another's
// refetch still sees the set that one installed.
func TestRefetchSeesNewerSet(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, standardDoc(t))
		held, err := f.set.current(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		f.srv.serve(jwksDoc(t, signature.JWK{KID: "e1", Key: edKey(0).Public()}))
		time.Sleep(missCooldown)
		s, err := f.set.refetch(t.Context(), held) // another verification's miss
		if err != nil || s == nil || len(s.ed) != 1 {
			t.Fatalf("first refetch: %v, %v", s, err)
		}
		s2, err := f.set.refetch(t.Context(), held) // within its cooldown
		if err != nil || s2 != s {
			t.Fatalf("second refetch: %p, %v, want the newer set %p", s2, err, s)
		}
		f.wantHits(t, 2)
	})
}

// shiftClock is time.Now moved by a test: the wall clock of a host whose
// time is stepped (by NTP, say), which synctest's clock never does.
type shiftClock struct{ by atomic.Int64 }

func (c *shiftClock) now() time.Time        { return time.Now().Add(time.Duration(c.by.Load())) }
func (c *shiftClock) shift(d time.Duration) { c.by.Add(int64(d)) }
func (c *shiftClock) config(cfg *Config)    { cfg.Now = c.now }

// A clock that goes back does not hold refreshes off until it has caught
// up with the last fetch: the set is refreshed, a rotated-in key is
// fetched on its first miss, and the cooldown then runs from the new time.
func TestClockGoesBack(t *testing.T) {
	t.Parallel()
	newKey := outsider(t)
	rotated := func(t *testing.T) []byte {
		return jwksDoc(t, signature.JWK{KID: "e1", Key: edKey(0).Public()}, signature.JWK{KID: "new", Key: newKey.Public()})
	}
	t.Run("miss", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var clk shiftClock
			f := newFixture(t, standardDoc(t), clk.config)
			if err := f.v1a(t, edKey(0)); err != nil {
				t.Fatal(err)
			}
			clk.shift(-time.Hour)
			f.srv.serve(rotated(t))
			if err := f.v1a(t, newKey); err != nil {
				t.Fatalf("rotated-in key after the clock went back: %v", err)
			}
			stranger := outsider(t)
			for range 10 {
				wantForged(t, "outsider", f.v1a(t, stranger))
			}
			synctest.Wait()
			f.wantHits(t, 2) // the cooldown runs from the new time
		})
	})
	t.Run("refresh", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var clk shiftClock
			f := newFixture(t, standardDoc(t), clk.config)
			if err := f.v1a(t, edKey(0)); err != nil {
				t.Fatal(err)
			}
			clk.shift(-time.Hour)
			f.srv.serve(rotated(t))
			if err := f.v1a(t, edKey(0)); err != nil { // pokes the refresher: the set is due
				t.Fatal(err)
			}
			synctest.Wait()
			f.wantHits(t, 2)
		})
	})
}

// Concurrent forged deliveries at clock positions that jump both ways:
// each position allows at most one fetch, however many deliveries miss.
func TestConcurrentMissesWithJumpingClock(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var clk shiftClock
		f := newFixture(t, standardDoc(t), clk.config)
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatal(err)
		}
		stranger := outsider(t)
		burst := func() {
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for range 5 {
						if err := f.v1a(t, stranger); !errors.Is(err, ErrNoMatch) || errors.Is(err, ErrUnavailable) {
							t.Errorf("forged delivery: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
		}
		jumps := []time.Duration{missCooldown, -time.Hour, missCooldown, missCooldown / 2, time.Hour, -missCooldown}
		burst()
		for _, d := range jumps {
			clk.shift(d)
			burst()
		}
		synctest.Wait()
		if n := f.srv.hits.Load(); n > int64(1+len(jumps)) {
			t.Fatalf("%d fetches for %d clock positions", n, 1+len(jumps))
		}
	})
}
