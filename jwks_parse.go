//go:build !gemhook_jwx

package gemhook

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// parseJWKS reads a JSON Web Key Set (RFC 7517) holding RSA (RFC 7518
// §6.3) and Ed25519 (RFC 8037) public keys. An entry of another type or
// curve, or one that cannot be read, is kept with its reason so that one
// key Gemini adds in a new format does not fail the whole set. More than
// maxJWKSKeys entries fail it.
//
// This is the stand-in while the root go.mod cannot build jwx/v3/jwk (it
// lacks httprc/v3 and fastjson); jwks_parse_jwx.go is the jwx version.
func parseJWKS(doc []byte) ([]jwksEntry, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("JWKS is not a JSON key set: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`JWKS has no "keys" array`)
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("JWKS has %d keys, more than %d", len(set.Keys), maxJWKSKeys)
	}
	out := make([]jwksEntry, 0, len(set.Keys))
	for _, raw := range set.Keys {
		out = append(out, parseJWK(raw))
	}
	return out, nil
}

func parseJWK(raw json.RawMessage) jwksEntry {
	var w struct {
		Kty, Crv, Use, Alg, Kid, N, E, X string
		Ops                              []string `json:"key_ops"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&w); err != nil {
		return jwksEntry{why: "unreadable entry: " + err.Error()}
	}
	e := jwksEntry{kid: w.Kid, kty: w.Kty, crv: w.Crv, use: w.Use, alg: w.Alg, ops: w.Ops, hasOps: w.Ops != nil}
	b64 := base64.RawURLEncoding.Strict()
	switch w.Kty {
	case "OKP":
		if w.Crv != "Ed25519" {
			e.why = fmt.Sprintf("OKP curve %.16q", w.Crv)
			return e
		}
		x, err := b64.DecodeString(w.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			e.why = "bad Ed25519 x"
			return e
		}
		e.pub = ed25519.PublicKey(x)
	case "RSA":
		n, err1 := b64.DecodeString(w.N)
		eb, err2 := b64.DecodeString(w.E)
		if err1 != nil || err2 != nil || len(n) == 0 || n[0] == 0 || len(eb) == 0 || len(eb) > 4 || eb[0] == 0 {
			e.why = "bad RSA n or e"
			return e
		}
		exp := 0
		for _, b := range eb {
			exp = exp<<8 | int(b)
		}
		e.pub = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	}
	return e
}
