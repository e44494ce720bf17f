package signature

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

// FuzzParseJWS checks that no input makes the parser panic, that anything
// it accepts respects the documented limits, and that a parsed token's
// pieces are consistent with the input.
func FuzzParseJWS(f *testing.F) {
	f.Add(forge(`{"alg":"RS256","kid":"k1"}`, body, 256))
	f.Add(forge(`{"alg":"EdDSA","kid":"k1","typ":"JWT"}`, body, 64))
	f.Add(forge(`{"alg":"none"}`, "{}", 0))
	f.Add(forge(`{"alg":"RS256","kid":"k1","jku":"http://x"}`, "{}", 256))
	f.Add(`{"payload":"e30","signatures":[{"signature":"AAAA"}]}`)
	f.Add("a.b.c")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		j, err := ParseJWS(tok)
		if err != nil {
			return
		}
		if len(tok) > MaxJWSLen || strings.Count(tok, ".") != 2 {
			t.Fatalf("accepted %q", tok)
		}
		if j.Alg != AlgRS256 && j.Alg != AlgEdDSA {
			t.Fatalf("accepted alg %q", j.Alg)
		}
		if !ValidKID(j.KID) || !strings.HasPrefix(tok, j.SigningInput+".") {
			t.Fatalf("inconsistent parse %+v", j)
		}
		if j.Alg == AlgEdDSA && len(j.Signature) != ed25519.SignatureSize {
			t.Fatalf("EdDSA signature of %d bytes", len(j.Signature))
		}
		// A zero key never verifies anything the fuzzer made up.
		if j.Verify(make(ed25519.PublicKey, ed25519.PublicKeySize)) == nil && j.Alg == AlgRS256 {
			t.Fatal("RS256 token verified with an Ed25519 key")
		}
	})
}
