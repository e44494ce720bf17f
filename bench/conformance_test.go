package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"google.golang.org/genai"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
)

// The emulator's project-webhook deliveries must verify with a conforming
// Standard Webhooks verifier that is not ours: the reference Go library.
func TestEmulatorDeliveriesVerifyWithStandardWebhooks(t *testing.T) {
	os.Unsetenv("GOOGLE_GENAI_USE_VERTEXAI")
	emu := gemhooktest.NewServer(gemhooktest.Options{JobDuration: 10 * time.Millisecond})
	defer emu.Close()

	verified := make(chan error, 4)
	var wh *standardwebhooks.Webhook
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		verified <- err
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	secret := emu.RegisterWebhook(hook.URL + "/webhook")
	var err error
	if wh, err = standardwebhooks.NewWebhook(secret); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	gc, err := genai.NewClient(ctx, emu.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	src := &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{{
		Contents: []*genai.Content{genai.NewContentFromText("hello", genai.RoleUser)},
	}}}
	if _, err := gc.Batches.Create(ctx, "gemini-2.5-flash", src, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-verified:
		if err != nil {
			t.Fatalf("the reference library rejected the emulator's delivery: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("no delivery")
	}
}

// A delivery signed by the reference library verifies with gemhook's
// Receiver, with the secret in every form gemhook accepts; the same
// delivery with one body byte changed does not.
func TestStandardWebhooksSignaturesVerifyWithReceiver(t *testing.T) {
	const padded = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := readBody(t, "thin")
	hdr := signedV1(t, body)
	for _, secret := range []string{padded, padded[len("whsec_"):]} {
		r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{Secrets: []string{secret}, JWKSURL: "http://127.0.0.1:1/"})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := r.Verify(context.Background(), hdr, body)
		if err != nil || ev.Scheme != "v1" || ev.Resource != "batches/abc123" {
			t.Fatalf("secret %q: %+v, %v", secret, ev, err)
		}
		bad := append([]byte(nil), body...)
		bad[len(bad)-3] ^= 1
		if _, err := r.Verify(context.Background(), hdr, bad); err == nil {
			t.Fatalf("secret %q: an altered body verified", secret)
		}
		r.Close()
	}
}
