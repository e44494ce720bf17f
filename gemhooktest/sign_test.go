package gemhooktest

import (
	"strings"
	"testing"
	"time"
)

const signedBody = `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-22T12:00:00Z","data":{"id":"batches/b1"}}`

// One v1 entry per secret, in the order given, each of which verifies on
// its own; the other headers are those of a delivery.
func TestSignV1(t *testing.T) {
	t.Parallel()
	now := time.Now()
	older, newer := newSecret(), newSecret()
	h, err := SignV1("msg_1", now, []byte(signedBody), newer, older)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Content-Type") != "application/json" || h.Get("webhook-id") != "msg_1" {
		t.Fatalf("headers %v", h)
	}
	entries := strings.Fields(h.Get("webhook-signature"))
	if len(entries) != 2 {
		t.Fatalf("signature %q", h.Get("webhook-signature"))
	}
	for i, sc := range []string{newer, older} {
		one := h.Clone()
		one.Set("webhook-signature", entries[i])
		verifyV1(t, sc, hit{header: one, body: []byte(signedBody)}, now)
	}
}

func TestSignV1Refuses(t *testing.T) {
	t.Parallel()
	for _, sc := range []string{"", "whsec_", "whsec_short", "whsec_not*base64*at*all*not*base64*at*all"} {
		if h, err := SignV1("msg_1", time.Now(), []byte(signedBody), newSecret(), sc); err == nil {
			t.Errorf("secret %q: signed %v", sc, h)
		}
	}
	// No secret at all is a delivery no receiver accepts, which a test
	// may want.
	h, err := SignV1("msg_1", time.Now(), []byte(signedBody))
	if err != nil || h.Get("webhook-signature") != "" || h.Get("webhook-id") != "msg_1" {
		t.Fatalf("no secrets: %v %v", h, err)
	}
}

// Sign makes what the Server's own per-request deliveries carry.
func TestServerSign(t *testing.T) {
	t.Parallel()
	s := NewServer(Options{})
	defer s.Close()
	now := time.Now()
	h, err := s.Sign("msg_1", now, []byte(signedBody))
	if err != nil {
		t.Fatal(err)
	}
	verifyV1a(t, s.JWKSURL, hit{header: h, body: []byte(signedBody)}, now)
}

func TestServerSignJWS(t *testing.T) {
	t.Parallel()
	s := NewServer(Options{JWS: true})
	defer s.Close()
	h, err := s.Sign("msg_1", time.Now(), []byte(signedBody))
	if err != nil {
		t.Fatal(err)
	}
	if sig := h.Get("webhook-signature"); strings.Count(sig, ".") != 2 || strings.Contains(sig, ",") {
		t.Fatalf("not a compact JWS: %q", sig)
	}
	if _, err := s.Sign("msg_1", time.Now(), []byte(`["not an object"]`)); err == nil {
		t.Fatal("signed a body that is not a JSON object")
	}
}
