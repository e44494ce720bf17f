package keyset

import (
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// parseJWKS reads a JSON Web Key Set with jwx. More than maxKeys
// entries fail the set (jwk.WithMaxKeys caps before allocating). Lenient
// set parsing keeps one entry jwx cannot read (say a key type Google adds
// one day) from failing the whole set: it comes back as a
// jwk.UnsupportedKey, which is kept with its reason and never used.
func parseJWKS(doc []byte) ([]jwksEntry, error) {
	set, err := jwk.Parse(doc, jwk.WithMaxKeys(maxKeys), jwk.WithStrictKeySetParsing(false))
	if err != nil {
		return nil, fmt.Errorf("parsing JWKS (capped at %d keys): %w", maxKeys, err)
	}
	out := make([]jwksEntry, 0, set.Len())
	for i := range set.Len() {
		key, _ := set.Key(i)
		out = append(out, fromJWK(key))
	}
	return out, nil
}

func fromJWK(key jwk.Key) jwksEntry {
	var e jwksEntry
	e.kid, _ = key.KeyID()
	e.use, _ = key.KeyUsage()
	e.kty = key.KeyType().String()
	if a, ok := key.Algorithm(); ok {
		e.alg = a.String()
	}
	if ops, ok := key.KeyOps(); ok {
		e.hasOps = true
		for _, op := range ops {
			e.ops = append(e.ops, string(op))
		}
	}
	if u, ok := key.(jwk.UnsupportedKey); ok {
		e.why = "unreadable entry: " + u.Reason().Error()
		return e
	}
	raw, err := jwk.PublicRawKeyOf(key)
	if err != nil {
		e.why = "no public key: " + err.Error()
		return e
	}
	switch key.KeyType() {
	case jwa.OKP():
		if pub, ok := raw.(ed25519.PublicKey); ok {
			e.pub = pub
		} else {
			e.why = "OKP key that is not Ed25519"
		}
	case jwa.RSA():
		if pub, ok := raw.(*rsa.PublicKey); ok {
			e.pub = pub
		} else {
			e.why = "RSA key that is not an RSA public key"
		}
	}
	return e
}
