package keyset

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/signature"
)

// spaces reads as an endless run of JSON whitespace.
type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// K-3, K-4: garbage and oversized responses fail the fetch; before any
// good set that is "unavailable", after one the old set stays.
func TestBadResponses(t *testing.T) {
	t.Parallel()
	static := func(status int, ctype, body string) func(*http.Request) (*http.Response, error) {
		return func(r *http.Request) (*http.Response, error) {
			return reply(r, status, http.Header{"Content-Type": {ctype}}, strings.NewReader(body), int64(len(body))), nil
		}
	}
	many := make([]signature.JWK, maxKeys+8)
	for i := range many {
		many[i] = signature.JWK{KID: fmt.Sprint("k", i), Key: edKey(i % 3).Public()}
	}
	tooMany := string(jwksDoc(t, many...))
	for name, respond := range map[string]func(*http.Request) (*http.Response, error){
		"500":                fail500,
		"404":                static(http.StatusNotFound, "text/plain", "no"),
		"HTML":               static(http.StatusOK, "text/html", "<html>maintenance</html>"),
		"invalid JSON":       static(http.StatusOK, "application/json", `{"keys":[{`),
		"empty set":          static(http.StatusOK, "application/json", `{"keys":[]}`),
		"no keys member":     static(http.StatusOK, "application/json", `{"kty":"OKP"}`),
		"only unusable keys": static(http.StatusOK, "application/json", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`),
		"too many keys":      static(http.StatusOK, "application/json", tooMany),
		"50 MiB body": func(r *http.Request) (*http.Response, error) {
			body := io.MultiReader(strings.NewReader(`{"keys":[`), io.LimitReader(spaces{}, 50<<20))
			return reply(r, http.StatusOK, http.Header{}, body, -1), nil
		},
		"declared 50 MiB": func(r *http.Request) (*http.Response, error) {
			return reply(r, http.StatusOK, http.Header{}, strings.NewReader(`{"keys":[]}`), 50<<20), nil
		},
		"transport error": func(*http.Request) (*http.Response, error) { return nil, errors.New("connection refused") },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, standardDoc(t))
				f.srv.misbehave(respond)
				wantUnavailable(t, "no set yet", f.v1a(t, edKey(1)))

				g := newFixture(t, standardDoc(t))
				if err := g.v1a(t, edKey(1)); err != nil {
					t.Fatal(err)
				}
				g.srv.misbehave(respond)
				time.Sleep(defaultRefresh + time.Second) // the refresh fails
				synctest.Wait()
				g.wantHits(t, 2)
				for i := range 3 {
					if err := g.v1a(t, edKey(i)); err != nil {
						t.Fatalf("key %d, held across a failed refresh: %v", i, err)
					}
				}
			})
		})
	}
}

// K-8: max-age sets the refresh time, clamped so that a tiny one cannot
// cause a fetch storm, nor a huge one pin revoked keys.
func TestCacheControl(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"max-age=1", minRefresh},
		{"public, max-age=1800, must-revalidate", 30 * time.Minute},
		{`max-age="600"`, 10 * time.Minute},
		{"max-age=99999999999", maxRefresh},
		{"max-age=-5, max-age=600", 10 * time.Minute},
		{"no-store", defaultRefresh},
		{"", defaultRefresh},
	} {
		t.Run(tc.header, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, standardDoc(t))
				f.srv.cache = tc.header
				if err := f.v1a(t, edKey(0)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(tc.want - time.Second)
				if err := f.v1a(t, edKey(0)); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				f.wantHits(t, 1)
				time.Sleep(time.Second) // the refresher's tick: the set is due
				synctest.Wait()
				f.wantHits(t, 2)
			})
		})
	}
}

// K-5: the Set's own client does not follow a redirect (to a cloud
// metadata address, say).
func TestRedirectRefused(t *testing.T) {
	defer leaktest.Check(t)()
	metadata := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect was followed to %s", r.URL)
	}))
	defer metadata.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, metadata.URL+"/computeMetadata/v1/", http.StatusFound)
	}))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL + "/.well-known/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := []byte(eventBody)
	err = s.VerifyV1a(t.Context(), entries(t, signature.SignV1a(edKey(0), testID, testTS, body)), testID, testTS, body)
	wantUnavailable(t, "redirected", err)
	if !errors.Is(err, ErrRedirect) {
		t.Fatalf("%v, want ErrRedirect", err)
	}
}

// A program that wrapped http.DefaultTransport (tracing, metrics) can still
// build a Set, and the set is fetched without the wrapper. Not parallel:
// it replaces http.DefaultTransport.
func TestWrappedDefaultTransport(t *testing.T) {
	defer leaktest.Check(t)()
	doc := standardDoc(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(doc) }))
	defer srv.Close()
	orig := http.DefaultTransport
	var wrapped atomic.Int32
	http.DefaultTransport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		wrapped.Add(1)
		return orig.RoundTrip(r)
	})
	defer func() { http.DefaultTransport = orig }()
	s, err := New(Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := []byte(eventBody)
	if err := s.VerifyV1a(t.Context(), entries(t, signature.SignV1a(edKey(0), testID, testTS, body)), testID, testTS, body); err != nil {
		t.Fatal(err)
	}
	if n := wrapped.Load(); n != 0 {
		t.Fatalf("the key set went through http.DefaultTransport %d times", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewRefusesBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://keys.example/jwks", "/relative/jwks.json", "https://", "::"} {
		if s, err := New(Config{URL: u}); !errors.Is(err, ErrURL) {
			if s != nil {
				s.Close()
			}
			t.Errorf("%q: %v, want ErrURL", u, err)
		}
	}
}
