package bench

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/internal/signature"
)

// BenchmarkV1a compares a v1a delivery verified by gemhook against a
// three-key set (Receiver.Verify: headers, timestamp, the key set, the
// envelope decode) with the one ed25519.Verify it cannot avoid. No Go
// library verifies v1a, so there is no third column.
func BenchmarkV1a(b *testing.B) {
	f := newKeyFixture(b, "")
	ts := strconv.FormatInt(ksNow.Unix(), 10)
	body := []byte(ksBody)
	msg := []byte("msg_1." + ts + "." + ksBody)
	sig := ed25519.Sign(f.ed[2], msg)
	b.Run("ed25519.Verify", func(b *testing.B) {
		pub := f.ed[2].Public().(ed25519.PublicKey)
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("no")
			}
		}
	})
	b.Run("gemhook", func(b *testing.B) {
		h := headers("msg_1", "v1a,"+b64std(sig))
		if _, err := f.recv.Verify(b.Context(), h, body); err != nil { // fetches the set
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := f.recv.Verify(b.Context(), h, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The per-request benchmarks share one key set: three Ed25519 keys (as
// Gemini publishes) and one RSA key, served from loopback.
const ksBody = `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-02T03:04:05Z","data":{"id":"batches/abc","output_file_uri":"gs://b/o.jsonl"}}`

var ksNow = time.Unix(1_800_000_000, 0)

type keyFixture struct {
	ed   [3]ed25519.PrivateKey
	rsa  *rsa.PrivateKey
	doc  []byte
	srv  *httptest.Server
	recv *gemhook.Receiver
}

func newKeyFixture(b *testing.B, audience string) *keyFixture {
	b.Helper()
	f := &keyFixture{}
	var jwks []signature.JWK
	for i := range f.ed {
		_, f.ed[i], _ = ed25519.GenerateKey(rand.Reader)
		jwks = append(jwks, signature.JWK{KID: "e" + strconv.Itoa(i+1), Key: f.ed[i].Public()})
	}
	var err error
	if f.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		b.Fatal(err)
	}
	jwks = append(jwks, signature.JWK{KID: "r1", Key: &f.rsa.PublicKey})
	if f.doc, err = signature.MarshalJWKS(jwks...); err != nil {
		b.Fatal(err)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(f.doc) }))
	b.Cleanup(f.srv.Close)
	f.recv, err = gemhook.NewReceiver(gemhook.ReceiverConfig{
		JWKSURL:  f.srv.URL,
		Audience: audience,
		Now:      func() time.Time { return ksNow },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.recv.Close() })
	return f
}

func headers(id, sig string) http.Header {
	h := http.Header{}
	h.Set("Webhook-Id", id)
	h.Set("Webhook-Timestamp", strconv.FormatInt(ksNow.Unix(), 10))
	h.Set("Webhook-Signature", sig)
	return h
}
