package bench

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/gemhook/gemhook/internal/signature"
)

func b64std(p []byte) string { return base64.StdEncoding.EncodeToString(p) }

// BenchmarkJWS compares one RS256 JWS delivery: the bare
// rsa.VerifyPKCS1v15 it needs; gemhook's Receiver.Verify (shape checks,
// header, cached key, RSA check, claims, binding to the body, envelope
// decode); and jwx's jwt.Parse with the parsed key set and the same claim
// checks (which neither binds the token to the body nor decodes the body).
func BenchmarkJWS(b *testing.B) {
	const aud = "https://hooks.example/gemini"
	f := newKeyFixture(b, aud)
	claims, err := signature.EventClaims([]byte(ksBody), signature.Registered{
		Issuer: signature.GeminiIssuer, Audience: aud, IssuedAt: ksNow, Expiry: ksNow.Add(5 * time.Minute)})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := signature.SignJWS(f.rsa, "r1", claims)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(ksBody)
	b.Run("rsa.VerifyPKCS1v15", func(b *testing.B) {
		i := strings.LastIndexByte(tok, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
		for b.Loop() {
			sum := sha256.Sum256([]byte(tok[:i]))
			if rsa.VerifyPKCS1v15(&f.rsa.PublicKey, crypto.SHA256, sum[:], sig) != nil {
				b.Fatal("no")
			}
		}
	})
	b.Run("gemhook", func(b *testing.B) {
		h := headers("msg_1", tok)
		if _, err := f.recv.Verify(b.Context(), h, body); err != nil { // fetches the set
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := f.recv.Verify(b.Context(), h, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jwx.jwt.Parse", func(b *testing.B) {
		set, err := jwk.Parse(f.doc)
		if err != nil {
			b.Fatal(err)
		}
		clock := jwt.ClockFunc(func() time.Time { return ksNow })
		raw := []byte(tok)
		for b.Loop() {
			if _, err := jwt.Parse(raw, jwt.WithKeySet(set), jwt.WithAudience(aud), jwt.WithIssuer(signature.GeminiIssuer),
				jwt.WithRequiredClaim("exp"), jwt.WithAcceptableSkew(time.Minute), jwt.WithClock(clock)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
