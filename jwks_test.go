package gemhook

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/signature"
)

// wantDown checks that a delivery is refused as "keys unavailable", never
// as a forgery, by Verify and by ServeHTTP (503 with Retry-After).
func (f *ksFixture) wantDown(t *testing.T, i int) {
	t.Helper()
	body := []byte(ksBody)
	h := f.v1a(i, "msg_down", body)
	_, err := f.verify(h, body)
	if !errors.Is(err, ErrKeysUnavailable) || errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("Verify: %v, want ErrKeysUnavailable only", err)
	}
	rec := f.serveHTTP(h, body)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("ServeHTTP: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func (f *ksFixture) wantUp(t *testing.T, i int) {
	t.Helper()
	body := []byte(ksBody)
	if _, err := f.verify(f.v1a(i, "msg_up", body), body); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if rec := f.serveHTTP(f.v1a(i, fmt.Sprintf("msg_up%d", f.clk.Now().UnixNano()), body), body); rec.Code/100 != 2 {
		t.Fatalf("ServeHTTP: %d", rec.Code)
	}
}

func fail500(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "boom", http.StatusInternalServerError)
}

// K-1: a failed first fetch answers 503, is retried within seconds, and
// verification resumes as soon as the set is back.
func TestKeySetDownThenBack(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	f.srv.misbehave(fail500)
	f.wantDown(t, 0)
	if n := f.srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1: retries wait for the retry gap", n)
	}
	f.srv.serve(ksStandard(t))
	f.wantDown(t, 0) // same instant: still inside the retry gap
	f.clk.Advance(jwksFailRetry)
	f.wantUp(t, 0)
	if n := f.srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// K-2: a key set endpoint that never answers costs a delivery at most
// maxWait, and the fetch itself gives up at fetchTimeout.
func TestKeySetHangs(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	f.k.t.maxWait = 100 * time.Millisecond
	f.k.t.fetchTimeout = 300 * time.Millisecond
	f.srv.hang()
	start := time.Now()
	f.wantDown(t, 0)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
	// The fetch times out on its own; then the set comes back.
	f.srv.waitHits(t, 1)
	f.srv.serve(ksStandard(t))
	for deadline := time.Now().Add(5 * time.Second); ; {
		f.k.mu.Lock()
		done := !f.k.inflight
		f.k.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hung fetch never timed out")
		}
		time.Sleep(10 * time.Millisecond) // waiting on real time: the fetch timeout is real
	}
	f.clk.Advance(jwksFailRetry)
	f.wantUp(t, 0)
}

// K-3, K-4, K-5: garbage, oversized and redirected responses fail the
// fetch; before any good set that is a 503, after one the old set stays.
func TestKeySetBadResponses(t *testing.T) {
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect was followed to %s", r.URL)
	}))
	defer metadata.Close()
	huge := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"keys":[`))
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for range 50 << 4 { // 50 MiB, unless the client stops reading
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	hugeDeclared := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(50<<20))
		w.Write([]byte(`{"keys":[]}`))
	}
	static := func(status int, ctype, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
	}
	many := make([]signature.JWK, 40)
	for i := range many {
		many[i] = signature.JWK{KID: fmt.Sprint("k", i), Key: ksEd(i % 3).Public()}
	}
	tooMany := ksDoc(t, many...)
	for name, h := range map[string]http.HandlerFunc{
		"500":                fail500,
		"404":                static(http.StatusNotFound, "text/plain", "no"),
		"HTML":               static(http.StatusOK, "text/html", "<html>maintenance</html>"),
		"invalid JSON":       static(http.StatusOK, "application/json", `{"keys":[{`),
		"empty set":          static(http.StatusOK, "application/json", `{"keys":[]}`),
		"no keys member":     static(http.StatusOK, "application/json", `{"kty":"OKP"}`),
		"only unusable keys": static(http.StatusOK, "application/json", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`),
		"50 MiB body":        huge,
		"declared 50 MiB":    hugeDeclared,
		"too many keys":      static(http.StatusOK, "application/json", string(tooMany)),
		"redirect to metadata": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, metadata.URL+"/computeMetadata/v1/", http.StatusFound)
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer leaktest.Check(t)()
			// No set yet: unavailable.
			f := newKS(t, ksStandard(t), nil)
			defer f.close()
			f.srv.misbehave(h)
			f.wantDown(t, 1)

			// A good set is kept when a refresh returns this.
			g := newKS(t, ksStandard(t), nil)
			defer g.close()
			g.wantUp(t, 1)
			g.srv.misbehave(h)
			g.clk.Advance(jwksRefresh + time.Second)
			g.wantUp(t, 1) // pokes the refresher, which fails
			g.srv.waitHits(t, 2)
			g.wantUp(t, 2)
		})
	}
}

// K-6: a set that cannot be refreshed is trusted up to the maximum
// staleness, then verification fails closed.
func TestKeySetMaxStaleness(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	f.wantUp(t, 0)
	f.srv.misbehave(fail500)
	f.clk.Advance(jwksMaxStale - time.Minute)
	f.wantUp(t, 0)
	f.clk.Advance(2 * time.Minute)
	f.wantDown(t, 0)
	f.srv.serve(ksStandard(t))
	f.clk.Advance(jwksFailRetry)
	f.wantUp(t, 0)
}

// K-7: two keys under one kid verify no JWS; the other kids are unharmed.
func TestKeySetDuplicateKids(t *testing.T) {
	defer leaktest.Check(t)()
	doc := ksDoc(t,
		signature.JWK{KID: "dup", Key: &ksRSA(0).PublicKey},
		signature.JWK{KID: "dup", Key: &ksRSA(1).PublicKey},
		signature.JWK{KID: "r1", Key: &ksRSA(0).PublicKey})
	f := newKS(t, doc, nil)
	defer f.close()
	claims := f.claims(t, ksBody, nil)
	for _, key := range []int{0, 1} {
		tok, _ := signature.SignJWS(ksRSA(key), "dup", claims)
		if _, _, why := f.verifyJWS(t, tok, ksBody); !errors.Is(why, errUnknownKID) {
			t.Fatalf("dup kid signed by key %d: %v", key, why)
		}
	}
	tok, _ := signature.SignJWS(ksRSA(0), "r1", claims)
	if _, err, why := f.verifyJWS(t, tok, ksBody); err != nil {
		t.Fatalf("r1: %v (%v)", err, why)
	}
}

// K-8: max-age sets the refresh time, clamped so that a tiny one cannot
// cause a fetch storm.
func TestKeySetCacheControl(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"max-age=1", jwksMinRefresh},
		{"public, max-age=1800, must-revalidate", 30 * time.Minute},
		{"max-age=99999999999", jwksMaxRefresh},
		{"no-store", jwksRefresh},
		{"", jwksRefresh},
	} {
		t.Run(tc.header, func(t *testing.T) {
			defer leaktest.Check(t)()
			f := newKS(t, ksStandard(t), nil)
			defer f.close()
			f.srv.cache = tc.header
			f.wantUp(t, 0)
			s := f.k.state.Load()
			if got := s.refreshAt.Sub(s.fetched); got != tc.want {
				t.Fatalf("refresh after %v, want %v", got, tc.want)
			}
			f.clk.Advance(tc.want - time.Second)
			f.wantUp(t, 0)
			if n := f.srv.hits.Load(); n != 1 {
				t.Fatalf("%d fetches before the refresh was due", n)
			}
		})
	}
}

// The refresher refreshes a due set in the background, woken by the ticker
// alone, and keys dropped from the set stop verifying.
func TestKeySetBackgroundRefresh(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	f.k.t.tick = 5 * time.Millisecond
	defer f.close()
	f.wantUp(t, 2)
	f.srv.serve(ksDoc(t, signature.JWK{KID: "e1", Key: ksEd(0).Public()}))
	f.clk.Advance(jwksRefresh)
	f.srv.waitHits(t, 2)
	for deadline := time.Now().Add(5 * time.Second); len(f.k.state.Load().ed) != 1; {
		if time.Now().After(deadline) {
			t.Fatal("refreshed set never installed")
		}
		time.Sleep(time.Millisecond) // the swap follows the response by microseconds
	}
	body := []byte(ksBody)
	if _, err := f.verify(f.v1a(2, "msg_gone", body), body); !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("dropped key: %v", err)
	}
	f.wantUp(t, 0)
}

// Many deliveries arriving together before the first fetch share it.
func TestKeySetFirstFetchIsShared(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	gate := make(chan struct{})
	f.srv.misbehave(func(w http.ResponseWriter, r *http.Request) {
		<-gate
		w.Write(ksStandard(t))
	})
	body := []byte(ksBody)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		h := f.v1a(i%3, fmt.Sprint("msg_", i), body)
		wg.Go(func() {
			_, err := f.verify(h, body)
			errs <- err
		})
	}
	f.srv.waitHits(t, 0)
	for {
		f.k.mu.Lock()
		inflight := f.k.inflight
		f.k.mu.Unlock()
		if inflight {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestKeySetClosed(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	f.wantUp(t, 0)
	f.close()
	f.k.close() // idempotent
	f.clk.Advance(jwksMaxStale + time.Hour)
	body := []byte(ksBody)
	if _, err := f.verify(f.v1a(0, "msg_late", body), body); !errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v", err)
	}
}

func TestBadJWKSURL(t *testing.T) {
	for _, u := range []string{"ftp://keys.example/jwks", "/relative/jwks.json", "https://", "::"} {
		if _, err := NewReceiver(ReceiverConfig{JWKSURL: u}); err == nil {
			t.Fatalf("%q accepted", u)
		}
	}
}

// A program that wrapped http.DefaultTransport (tracing, metrics) can still
// build a Receiver, and its key set is fetched without the wrapper.
func TestKeySetWrappedDefaultTransport(t *testing.T) {
	defer leaktest.Check(t)()
	orig := http.DefaultTransport
	var wrapped atomic.Int32
	http.DefaultTransport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		wrapped.Add(1)
		return orig.RoundTrip(r)
	})
	defer func() { http.DefaultTransport = orig }()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	f.wantUp(t, 0)
	if n := wrapped.Load(); n != 0 {
		t.Fatalf("the key set went through http.DefaultTransport %d times", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A signature that matches no held key while the set cannot be refetched
// could be a rotation the receiver cannot see: it is "keys unavailable"
// (503), not a forgery (401), both for v1a and for a JWS with an unknown
// kid. The held keys keep verifying meanwhile, and once the set can be
// fetched again the same signature is a forgery.
func TestKeySetMissDuringOutageIsUnavailable(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), withAudience)
	defer f.close()
	f.wantUp(t, 0)
	_, outsider, _ := ed25519.GenerateKey(rand.Reader)
	body := []byte(ksBody)
	forged := func() error {
		ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
		_, err := f.verify(f.headers("msg_o", signature.SignV1a(outsider, "msg_o", ts, body)), body)
		return err
	}
	unknownKID := func() error {
		tok, err := signature.SignJWS(outsider, "e9", f.claims(t, ksBody, func(c map[string]any) { c["aud"] = ksAudience }))
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.verify(f.headers("msg_j", tok), body)
		return err
	}
	down := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrKeysUnavailable) || errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("%s: %v, want ErrKeysUnavailable only", what, err)
		}
	}
	forgery := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrNoMatchingSignature) || errors.Is(err, ErrKeysUnavailable) {
			t.Fatalf("%s: %v, want ErrNoMatchingSignature only", what, err)
		}
	}
	forgery("v1a, set just fetched", forged())
	forgery("jws, set just fetched", unknownKID())

	f.srv.misbehave(fail500)
	f.clk.Advance(jwksMissCooldown)
	down("v1a, refetch failed", forged())
	down("jws, within the cooldown of a failed refetch", unknownKID())
	ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
	rec := f.serveHTTP(f.headers("msg_h", signature.SignV1a(outsider, "msg_h", ts, body)), body)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("ServeHTTP: %d", rec.Code)
	}
	f.wantUp(t, 1) // the held keys still verify
	if n := f.srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}

	f.srv.serve(ksStandard(t))
	f.clk.Advance(jwksMissCooldown)
	forgery("jws, refetched", unknownKID())
	forgery("v1a, within the cooldown of a good refetch", forged())
}

// A delivery whose refetch falls within the cooldown of another delivery's
// refetch still sees the set that one installed.
func TestKeySetRefetchSeesNewerSet(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	f.wantUp(t, 0)
	held := f.k.state.Load()
	f.srv.serve(ksDoc(t, signature.JWK{KID: "e1", Key: ksEd(0).Public()}))
	f.clk.Advance(jwksMissCooldown)
	s, err := f.k.refetch(t.Context(), held) // another delivery's miss
	if err != nil || s == nil || len(s.ed) != 1 {
		t.Fatalf("first refetch: %v, %v", s, err)
	}
	s2, err := f.k.refetch(t.Context(), held) // within its cooldown
	if err != nil || s2 != s {
		t.Fatalf("second refetch: %p, %v, want the newer set %p", s2, err, s)
	}
	if n := f.srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// An injected clock that goes back (a wall clock stepped by NTP, say) does
// not hold refreshes off until it has caught up with the last fetch: the
// set is refreshed, a rotated-in key is fetched on its first miss, and the
// cooldown then runs from the new time.
func TestKeySetClockGoesBack(t *testing.T) {
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	rotated := func(t *testing.T) []byte {
		return ksDoc(t, signature.JWK{KID: "e1", Key: ksEd(0).Public()}, signature.JWK{KID: "new", Key: newKey.Public()})
	}
	t.Run("miss", func(t *testing.T) {
		defer leaktest.Check(t)()
		f := newKS(t, ksStandard(t), nil)
		defer f.close()
		f.wantUp(t, 0)
		f.clk.Advance(-time.Hour)
		f.srv.serve(rotated(t))
		body := []byte(ksBody)
		ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
		if _, err := f.verify(f.headers("msg_new", signature.SignV1a(newKey, "msg_new", ts, body)), body); err != nil {
			t.Fatalf("rotated-in key after the clock went back: %v", err)
		}
		_, outsider, _ := ed25519.GenerateKey(rand.Reader)
		for range 10 {
			f.verify(f.headers("msg_o", signature.SignV1a(outsider, "msg_o", ts, body)), body)
		}
		if n := f.srv.hits.Load(); n != 2 {
			t.Fatalf("%d fetches, want 2: the cooldown runs from the new time", n)
		}
	})
	t.Run("refresh", func(t *testing.T) {
		defer leaktest.Check(t)()
		f := newKS(t, ksStandard(t), nil)
		f.k.t.tick = 5 * time.Millisecond
		defer f.close()
		f.wantUp(t, 0)
		f.clk.Advance(-time.Hour)
		f.srv.serve(rotated(t))
		f.wantUp(t, 0) // pokes the refresher: the set is due
		f.srv.waitHits(t, 2)
	})
}

// Concurrent forged deliveries at clock positions that jump both ways:
// each position allows at most one fetch, however many deliveries miss.
func TestKeySetConcurrentMissesWithJumpingClock(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	f.wantUp(t, 0)
	_, outsider, _ := ed25519.GenerateKey(rand.Reader)
	body := []byte(ksBody)
	burst := func(pos int) {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 5 {
					id := fmt.Sprintf("msg_%d_%d_%d", pos, g, i)
					ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
					_, err := f.verify(f.headers(id, signature.SignV1a(outsider, id, ts, body)), body)
					if !errors.Is(err, ErrNoMatchingSignature) || errors.Is(err, ErrKeysUnavailable) {
						t.Errorf("forged delivery: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	jumps := []time.Duration{jwksMissCooldown, -time.Hour, jwksMissCooldown, jwksMissCooldown / 2, time.Hour, -jwksMissCooldown}
	burst(0)
	for i, d := range jumps {
		f.clk.Advance(d)
		burst(i + 1)
	}
	if n := f.srv.hits.Load(); n > int64(1+len(jumps)) {
		t.Fatalf("%d fetches for %d clock positions", n, 1+len(jumps))
	}
}

// Ed25519 keys beyond the v1a cap are still JWS keys, and the log says why
// v1a does not try them.
func TestKeySetV1aKeyCap(t *testing.T) {
	keys := make([]signature.JWK, maxV1aKeys+1)
	for i := range keys {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		keys[i] = signature.JWK{KID: fmt.Sprint("k", i), Key: priv.Public()}
	}
	entries, err := parseJWKS(ksDoc(t, keys...))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newKeyState(entries, ksEpoch, ksEpoch)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ed) != maxV1aKeys || len(s.byKID) != maxV1aKeys+1 {
		t.Fatalf("%d v1a keys, %d JWS keys", len(s.ed), len(s.byKID))
	}
	if len(s.capped) != 1 || !strings.Contains(s.capped[0], "v1a") || len(s.dropped) != 0 {
		t.Fatalf("capped = %q, dropped = %q", s.capped, s.dropped)
	}
}
