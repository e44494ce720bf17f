package gemhook

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/signature"
)

// countingTransport counts the requests it is asked to make and makes
// none of them.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("test transport: no network")
}

// Finding 4 of issue 13: a receiver configured with project secrets only
// (JWKSURL empty) refuses per-request deliveries with 401. However many
// arrive, nothing is fetched and no refresher starts.
func TestProjectOnlyRefusesPerRequest(t *testing.T) {
	defer leaktest.Check(t)()
	tr := &countingTransport{}
	h := newHarness(t, ReceiverConfig{Secrets: []string{vecSecret}, JWKSURL: noJWKS, HTTPClient: &http.Client{Transport: tr}})
	body := []byte(eventBody)
	tok, err := signature.SignJWS(ksRSA(0), "r1", []byte(`{"exp":`+strconv.FormatInt(vecTime.Unix()+300, 10)+`}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, sig := range map[string]string{
		"v1a": signature.SignV1a(ksEd(0), vecID, vecTS, body),
		"jws": tok,
	} {
		t.Run(name, func(t *testing.T) {
			hdr := signedHeader(t, vecSecret, vecID, vecTS, body)
			hdr.Set("Webhook-Signature", sig)
			if _, err := h.r.Verify(context.Background(), hdr, body); !errors.Is(err, ErrNoMatchingSignature) {
				t.Fatalf("Verify: %v, want ErrNoMatchingSignature", err)
			}
			if rec := h.post(hdr, body); rec.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", rec.Code)
			}
		})
	}
	if n := tr.n.Load(); n != 0 {
		t.Fatalf("%d key set fetches, want none", n)
	}
	if h.r.keys != nil {
		t.Fatal("a receiver without JWKSURL holds a key set (and could start its refresher)")
	}
	h.untouched(t)
}

// New refuses per-request webhooks aimed at a receiver that would refuse
// every one of them, and says what to set.
func TestNewRefusesWebhookURLWithoutJWKS(t *testing.T) {
	t.Parallel()
	fake := newFakeBatches(t)
	r, err := NewReceiver(ReceiverConfig{Secrets: []string{vecSecret}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cfg := Config{GenAI: fake.genai(t), Receiver: r, WebhookURL: "https://hooks.example/gemini"}
	c, err := New(cfg)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "JWKSURL") || !strings.Contains(err.Error(), "GeminiJWKSURL") {
		if c != nil {
			c.Close()
		}
		t.Fatalf("New = %v, want ErrInvalidConfig naming ReceiverConfig.JWKSURL and GeminiJWKSURL", err)
	}
	cfg.WebhookURL = ""
	c, err = New(cfg)
	if err != nil {
		t.Fatalf("project-level client refused: %v", err)
	}
	c.Close()
}
