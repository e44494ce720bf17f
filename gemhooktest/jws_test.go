package gemhooktest

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"google.golang.org/genai"
)

// With Options.JWS a per-request delivery carries a compact RS256 JWS that
// verifies with the RSA key of the published set and whose claims carry
// the event. Checked with crypto/rsa, not the package's own code.
func TestJWSDelivery(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: time.Millisecond, JWS: true, JWSAudience: "my-aud"})
	defer s.Close()
	c := newClient(t, s)
	job, err := c.Batches.Create(context.Background(), "m", inlineSource("x"),
		&genai.CreateBatchJobConfig{WebhookConfig: &genai.WebhookConfig{Uris: []string{rc.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	h := rc.next(t)
	parts := strings.Split(h.sig(), ".")
	if len(parts) != 3 {
		t.Fatalf("webhook-signature %q is not a compact JWS", h.sig())
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var hdr struct{ Alg, Kid string }
	if err := json.Unmarshal(dec(parts[0]), &hdr); err != nil || hdr.Alg != "RS256" {
		t.Fatalf("header %s", dec(parts[0]))
	}
	pub := rsaKey(t, s.JWKSURL, hdr.Kid)
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], dec(parts[2])); err != nil {
		t.Fatalf("JWS does not verify: %v", err)
	}
	var claims struct {
		Type string `json:"type"`
		Aud  string `json:"aud"`
		Exp  int64  `json:"exp"`
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(dec(parts[1]), &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Type != "batch.succeeded" || claims.Aud != "my-aud" || claims.Data.ID != job.Name || claims.Exp < time.Now().Unix() {
		t.Fatalf("claims %s", dec(parts[1]))
	}
}

func rsaKey(t *testing.T, url, kid string) *rsa.PublicKey {
	t.Helper()
	for _, k := range fetchJWKS(t, url) {
		if k.Kty == "RSA" && k.Kid == kid {
			n, _ := base64.RawURLEncoding.DecodeString(k.N)
			e, _ := base64.RawURLEncoding.DecodeString(k.E)
			return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		}
	}
	t.Fatalf("no RSA key %q in the key set", kid)
	return nil
}
