package gemhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// countingReader counts the bytes the handler pulls from a body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// eventDelivery is eventBody signed with the vector secret at the vector
// time.
func eventDelivery(t testing.TB, id, body string) delivery {
	return delivery{hdr: signedHeader(t, vecSecret, id, vecTS, []byte(body)), body: []byte(body)}
}

// H-a: a body over the cap is refused without being read when its length
// is declared, and without reading much past the cap when it is not.
func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("x"), 2<<20)
	d := eventDelivery(t, vecID, string(big))
	for _, declared := range []bool{true, false} {
		t.Run("declared="+strconv.FormatBool(declared), func(t *testing.T) {
			h := newHarness(t, ReceiverConfig{})
			body := &countingReader{r: bytes.NewReader(big)}
			req := httptest.NewRequest(http.MethodPost, "/", body)
			req.Header = d.hdr.Clone()
			req.ContentLength = -1
			if declared {
				req.ContentLength = int64(len(big))
			}
			rec := httptest.NewRecorder()
			h.r.ServeHTTP(rec, req)
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", rec.Code)
			}
			limit := int64(0)
			if !declared {
				limit = DefaultMaxBodyBytes + 64<<10 // the cap plus one read's worth
			}
			if body.n > limit {
				t.Fatalf("read %d bytes of the body, want at most %d", body.n, limit)
			}
			h.untouched(t)
		})
	}
	h := newHarness(t, ReceiverConfig{MaxBodyBytes: 1 << 10})
	if _, err := h.r.Verify(context.Background(), d.hdr, big); !errors.Is(err, ErrPayloadTooLarge) {
		t.Fatalf("Verify of an oversized body: %v, want ErrPayloadTooLarge", err)
	}
}

// A body at the cap is accepted.
func TestBodyAtCap(t *testing.T) {
	t.Parallel()
	body := `{"type":"x","pad":"` + strings.Repeat("p", 200) + `"}`
	h := newHarness(t, ReceiverConfig{MaxBodyBytes: int64(len(body))})
	d := eventDelivery(t, vecID, body)
	if rec := h.post(d.hdr, d.body); rec.Code != http.StatusNoContent {
		t.Fatalf("status %d, want 204", rec.Code)
	}
	h.acceptedOnce(t)
}

// H-d, H-e, H-f: method and media type are checked before anything else.
func TestMethodAndMediaType(t *testing.T) {
	t.Parallel()
	type tc struct {
		name   string
		method string
		edit   func(http.Header)
		status int
	}
	cases := []tc{
		{"H-d GET", http.MethodGet, nil, 405},
		{"H-d PUT", http.MethodPut, nil, 405},
		{"H-d HEAD", http.MethodHead, nil, 405},
		{"H-e text/plain", http.MethodPost, func(h http.Header) { h.Set("Content-Type", "text/plain") }, 415},
		// Whether Gemini labels its deliveries is not documented; refusing
		// an unlabelled one would refuse every delivery for a day.
		{"H-e no content type", http.MethodPost, func(h http.Header) { h.Del("Content-Type") }, 204},
		{"H-e empty content type", http.MethodPost, func(h http.Header) { h.Set("Content-Type", "") }, 415},
		{"H-e bad media type", http.MethodPost, func(h http.Header) { h.Set("Content-Type", "application/json; =") }, 415},
		{"H-e json with a suffix", http.MethodPost, func(h http.Header) { h.Set("Content-Type", "application/jsonx") }, 415},
		{"H-f gzip", http.MethodPost, func(h http.Header) { h.Set("Content-Encoding", "gzip") }, 415},
		{"H-f identity twice", http.MethodPost, func(h http.Header) { h.Add("Content-Encoding", "identity"); h.Add("Content-Encoding", "gzip") }, 415},
		{"charset allowed", http.MethodPost, func(h http.Header) { h.Set("Content-Type", "application/json; charset=utf-8") }, 204},
		{"media type in any case", http.MethodPost, func(h http.Header) { h.Set("Content-Type", "Application/JSON") }, 204},
		{"identity coding allowed", http.MethodPost, func(h http.Header) { h.Set("Content-Encoding", "identity") }, 204},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, ReceiverConfig{})
			d := eventDelivery(t, vecID, eventBody)
			if c.edit != nil {
				c.edit(d.hdr)
			}
			rec := h.do(c.method, d.hdr, d.body)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if c.status == 405 && rec.Header().Get("Allow") != http.MethodPost {
				t.Fatalf("Allow %q, want POST", rec.Header().Get("Allow"))
			}
			if c.status/100 == 2 {
				h.acceptedOnce(t)
			} else {
				h.untouched(t)
			}
		})
	}
}

// H-g, H-h: a verified body that is not an event object is 400 and
// remembers nothing; an unknown event type is accepted.
func TestVerifiedBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		status     int
		err        error
	}{
		{"H-g not JSON", `{"type": "batch.succeeded",`, 400, ErrMalformedEvent},
		{"H-g trailing garbage", `{"type":"x"} {}`, 400, ErrMalformedEvent},
		{"H-g array", `[{"type":"x"}]`, 400, ErrMalformedEvent},
		{"H-g null", `null`, 400, ErrMalformedEvent},
		{"H-g empty", ``, 400, ErrMalformedEvent},
		{"H-h unknown type", `{"type":"quantum.entangled","version":"v9","data":{"id":"q/1","spin":0.5}}`, 204, nil},
		{"no data", `{"type":"batch.expired"}`, 204, nil},
		{"data of another type", `{"type":"batch.expired","data":[1,2]}`, 204, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, eventDelivery(t, vecID, c.body), c.status, c.err) })
	}
}

// H-i: a panic in OnEvent is logged, the delivery is acknowledged, the
// receiver keeps serving, and a retry of the same delivery does not run
// OnEvent again.
func TestOnEventPanic(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{OnEvent: func(context.Context, *Event) { panic("user bug") }})
	d := eventDelivery(t, vecID, eventBody)
	for i := range 2 {
		if rec := h.post(d.hdr, d.body); rec.Code != http.StatusNoContent {
			t.Fatalf("attempt %d: status %d, want 204", i, rec.Code)
		}
	}
	h.acceptedOnce(t)
	d2 := eventDelivery(t, "msg_2", eventBody)
	if rec := h.post(d2.hdr, d2.body); rec.Code != http.StatusNoContent {
		t.Fatalf("next delivery: status %d, want 204", rec.Code)
	}
	if h.events.Load() != 2 {
		t.Fatalf("OnEvent ran %d times, want 2", h.events.Load())
	}
}

// 503 cases: the sender must retry, and nothing is remembered.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	t.Run("dispatch refuses", func(t *testing.T) {
		h := newHarness(t, ReceiverConfig{})
		full := errors.New("orphan buffer full")
		h.store.hook = func() error { return full }
		d := eventDelivery(t, vecID, eventBody)
		rec := h.post(d.hdr, d.body)
		wantUnavailable(t, rec)
		if h.r.seen.Len() != 0 || h.events.Load() != 0 {
			t.Fatal("a refused delivery was remembered or reached OnEvent")
		}
		// the retry goes through once dispatch can take it.
		h.store.hook = nil
		if rec := h.post(d.hdr, d.body); rec.Code != http.StatusNoContent {
			t.Fatalf("retry: status %d, want 204", rec.Code)
		}
		if h.events.Load() != 1 || h.r.seen.Len() != 1 {
			t.Fatalf("retry: OnEvent %d, dedupe %d; want 1, 1", h.events.Load(), h.r.seen.Len())
		}
	})
	t.Run("dispatch panics", func(t *testing.T) {
		h := newHarness(t, ReceiverConfig{})
		h.store.hook = func() error { panic("store bug") }
		d := eventDelivery(t, vecID, eventBody)
		if rec := h.post(d.hdr, d.body); rec.Code != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500", rec.Code)
		}
		if h.r.seen.Len() != 0 || h.events.Load() != 0 {
			t.Fatal("a failed delivery was remembered or reached OnEvent")
		}
		h.store.hook = nil
		if rec := h.post(d.hdr, d.body); rec.Code != http.StatusNoContent {
			t.Fatalf("retry: status %d, want 204", rec.Code)
		}
	})
	t.Run("closed", func(t *testing.T) {
		h := newHarness(t, ReceiverConfig{})
		h.r.Close()
		h.r.Close() // idempotent
		d := eventDelivery(t, vecID, eventBody)
		wantUnavailable(t, h.post(d.hdr, d.body))
		h.untouched(t)
	})
	t.Run("keys unavailable", func(t *testing.T) {
		rec := httptest.NewRecorder()
		fail(rec, errors.Join(ErrKeysUnavailable, errors.New("jwks: 500")))
		wantUnavailable(t, rec)
	})
}

func wantUnavailable(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra <= 0 {
		t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
}

// The status of every error Verify can return: 400 for malformed requests,
// 401 for failed authentication, 413, 503; never 3xx or 410.
func TestStatusOfErrors(t *testing.T) {
	t.Parallel()
	cases := map[error]int{
		ErrMissingHeader:       400,
		errNoSignature:         401,
		ErrInvalidHeader:       400,
		ErrInvalidTimestamp:    400,
		ErrTimestampTooOld:     401,
		ErrTimestampTooNew:     401,
		ErrNoMatchingSignature: 401,
		ErrKeysUnavailable:     503,
		ErrPayloadTooLarge:     413,
		ErrMalformedEvent:      400,
		errors.New("other"):    401,
	}
	for err, want := range cases {
		rec := httptest.NewRecorder()
		fail(rec, errors.Join(errors.New("context"), err))
		if rec.Code != want {
			t.Errorf("%v: status %d, want %d", err, rec.Code, want)
		}
	}
}
