package bench

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const v1Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// thinPayload is a 300-byte batch.succeeded event, the size Gemini's thin
// payloads have.
func thinPayload() []byte {
	head := `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-22T12:00:00Z","data":{"id":"batches/abc123","output_file_uri":"gs://my-bucket/`
	tail := `.jsonl"}}`
	return []byte(head + strings.Repeat("r", 300-len(head)-len(tail)) + tail)
}

// signedV1 signs body now with the Standard Webhooks library, so that the
// two verifiers check the same third-party signature.
func signedV1(b testing.TB, body []byte) http.Header {
	wh, err := standardwebhooks.NewWebhook(v1Secret)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", now, body)
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{}
	h.Set("Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("Webhook-Signature", sig)
	return h
}

// BenchmarkV1Verify compares Receiver.Verify, which checks the signature
// and decodes the event, with the Standard Webhooks Go library's Verify,
// which only checks. Run: cd bench && go test -run '^$' -bench V1Verify -benchmem
func BenchmarkV1Verify(b *testing.B) {
	body := thinPayload()
	if len(body) != 300 {
		b.Fatalf("payload is %d bytes", len(body))
	}
	hdr := signedV1(b, body)

	b.Run("gemhook", func(b *testing.B) {
		r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{Secrets: []string{v1Secret}, JWKSURL: "http://127.0.0.1:1/"})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		ctx := context.Background()
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			ev, err := r.Verify(ctx, hdr, body)
			if err != nil || ev.Resource != "batches/abc123" {
				b.Fatal(err)
			}
		}
	})
	b.Run("standardwebhooks", func(b *testing.B) {
		wh, err := standardwebhooks.NewWebhook(v1Secret)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := wh.Verify(body, hdr); err != nil {
				b.Fatal(err)
			}
		}
	})
}
