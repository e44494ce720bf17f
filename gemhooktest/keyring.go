package gemhooktest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"

	"github.com/gemhook/gemhook/internal/signature"
)

// JWKSPath is where the Server publishes its signing keys, the same path as
// Gemini's https://generativelanguage.googleapis.com/.well-known/jwks.json.
const JWKSPath = "/.well-known/jwks.json"

// edKeyCount matches the three OKP keys seen in Gemini's published set.
const edKeyCount = 3

// keyRing holds the Server's private keys and its published key set. It is
// immutable after newKeyRing.
type keyRing struct {
	ed     []ed25519.PrivateKey
	edKIDs []string
	rsa    *rsa.PrivateKey // only when Options.JWS
	rsaKID string
	jwks   []byte
}

func newKeyRing(withRSA bool) (*keyRing, error) {
	k := &keyRing{}
	var pub []signature.JWK
	for i := range edKeyCount {
		p, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		kid := fmt.Sprintf("ed%d-%s", i+1, randomID(8))
		k.ed = append(k.ed, priv)
		k.edKIDs = append(k.edKIDs, kid)
		pub = append(pub, signature.JWK{KID: kid, Key: p})
	}
	if withRSA {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		k.rsa = priv
		k.rsaKID = "rsa1-" + randomID(8)
		pub = append(pub, signature.JWK{KID: k.rsaKID, Key: &priv.PublicKey})
	}
	doc, err := signature.MarshalJWKS(pub...)
	if err != nil {
		return nil, err
	}
	k.jwks = doc
	return k, nil
}

func (k *keyRing) serve(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(k.jwks)
}

// PublicKeys returns the Ed25519 keys the Server signs v1a deliveries with,
// in the order of its key set.
func (s *Server) PublicKeys() []ed25519.PublicKey {
	out := make([]ed25519.PublicKey, len(s.keys.ed))
	for i, k := range s.keys.ed {
		out[i] = k.Public().(ed25519.PublicKey)
	}
	return out
}
