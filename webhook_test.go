package gemhook

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// NewReceiver refuses what New would: negative values and bad URLs are
// ErrInvalidConfig, not silently the defaults.
func TestNewReceiverRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]ReceiverConfig{
		"negative tolerance": {Tolerance: -time.Second},
		"negative body cap":  {MaxBodyBytes: -1},
		"relative JWKS URL":  {JWKSURL: "/jwks.json"},
		"ftp JWKS URL":       {JWKSURL: "ftp://keys.example/jwks.json"},
	} {
		if r, err := NewReceiver(cfg); !errors.Is(err, ErrInvalidConfig) {
			if r != nil {
				r.Close()
			}
			t.Errorf("%s: NewReceiver = %v, want ErrInvalidConfig", name, err)
		}
	}
}

// A hand-built map can hold a spelling with no values beside one with a
// value: the empty one is no header, and the other is the header's value.
func TestWebhookHeadersEmptySpelling(t *testing.T) {
	t.Parallel()
	h := http.Header{
		"Webhook-Id":        {},
		"webhook-id":        {"msg_1"},
		"Webhook-Timestamp": {"1"},
		"Webhook-Signature": {"v1,x"},
	}
	// Map order is random: try enough times to see both spellings first.
	for range 32 {
		id, ts, sig, err := webhookHeaders(h)
		if err != nil || id != "msg_1" || ts != "1" || sig != "v1,x" {
			t.Fatalf("webhookHeaders = %q, %q, %q, %v", id, ts, sig, err)
		}
	}
	h["Webhook-Signature"] = []string{}
	if _, _, _, err := webhookHeaders(h); !errors.Is(err, ErrMissingHeader) {
		t.Fatalf("empty signature slice: err %v, want ErrMissingHeader", err)
	}
}
