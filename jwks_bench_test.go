package gemhook

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
//	go test -run - -bench 'V1a|Ed25519|JWS|RSA' -benchmem .
func BenchmarkEd25519Verify(b *testing.B) {
	msg := []byte("msg_1." + ksTS + "." + ksBody)
	sig := ed25519.Sign(ksEd(2), msg)
	pub := ksEd(2).Public().(ed25519.PublicKey)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("no")
		}
	}
}

// BenchmarkV1a3Keys verifies against a set of three Ed25519 keys, signed by
// the third: after the first delivery it is the one tried first.
func BenchmarkV1a3Keys(b *testing.B) {
	k := ksStatic(b)
	defer k.close()
	entries, _ := signature.ParseList(signature.SignV1a(ksEd(2), "msg_1", ksTS, []byte(ksBody)))
	body := []byte(ksBody)
	ctx := context.Background()
	for b.Loop() {
		if err := k.verifyV1a(ctx, entries, "msg_1", ksTS, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRSAVerifyPKCS1v15(b *testing.B) {
	claims, _ := signature.EventClaims([]byte(ksBody), signature.Registered{Audience: ksAudience, IssuedAt: ksEpoch, Expiry: ksEpoch.Add(time.Minute)})
	tok, _ := signature.SignJWS(ksRSA(0), "r1", claims)
	j, _ := signature.ParseJWS(tok)
	pub := &ksRSA(0).PublicKey
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
	k := ksStatic(b)
	defer k.close()
	claims, _ := signature.EventClaims([]byte(ksBody), signature.Registered{Audience: ksAudience, IssuedAt: ksEpoch, Expiry: ksEpoch.Add(time.Minute)})
	tok, _ := signature.SignJWS(ksRSA(0), "r1", claims)
	entries := []signature.Entry{{Scheme: signature.SchemeJWS, Value: tok}}
	body := []byte(ksBody)
	ctx := context.Background()
	for b.Loop() {
		if err := k.verifyJWS(ctx, entries, body); err != nil {
			b.Fatal(err)
		}
	}
}
