package keyset

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// The v1a and JWS paths against the cost of the one signature check each
// must make. Compare within one run:
//
//	go test -run - -bench 'V1a|Ed25519|JWS|RSA' -benchmem ./internal/keyset
func BenchmarkEd25519Verify(b *testing.B) {
	msg := []byte(testID + "." + testTS + "." + eventBody)
	sig := ed25519.Sign(edKey(2), msg)
	pub := edKey(2).Public().(ed25519.PublicKey)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("no")
		}
	}
}

// BenchmarkV1a3Keys verifies against a set of three Ed25519 keys, signed by
// the third: after the first delivery it is the one tried first.
func BenchmarkV1a3Keys(b *testing.B) {
	k := staticSet(b)
	list := entries(b, signature.SignV1a(edKey(2), testID, testTS, []byte(eventBody)))
	body := []byte(eventBody)
	ctx := context.Background()
	for b.Loop() {
		if err := k.VerifyV1a(ctx, list, testID, testTS, body); err != nil {
			b.Fatal(err)
		}
	}
}

func benchToken(b *testing.B) string {
	epoch := time.Unix(1_800_000_000, 0)
	claims, _ := signature.EventClaims([]byte(eventBody), signature.Registered{Audience: audience, IssuedAt: epoch, Expiry: epoch.Add(time.Minute)})
	tok, err := signature.SignJWS(rsaKey(0), "r1", claims)
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

func BenchmarkRSAVerifyPKCS1v15(b *testing.B) {
	tok := benchToken(b)
	j, _ := signature.ParseJWS(tok)
	pub := &rsaKey(0).PublicKey
	input := tok[:strings.LastIndexByte(tok, '.')]
	for b.Loop() {
		sum := sha256.Sum256([]byte(input))
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], j.Signature) != nil {
			b.Fatal("no")
		}
	}
}

// BenchmarkJWSRS256 is the whole JWS path: shape checks, header parsing,
// key lookup, the RSA check, claims and the body binding.
func BenchmarkJWSRS256(b *testing.B) {
	k := staticSet(b)
	list := []signature.Entry{{Scheme: signature.SchemeJWS, Value: benchToken(b)}}
	body := []byte(eventBody)
	ctx := context.Background()
	for b.Loop() {
		if _, err := k.VerifyJWS(ctx, list, body); err != nil {
			b.Fatal(err)
		}
	}
}
