package keyset

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// Limits on the keys kept from one set.
const (
	maxV1aKeys     = 8 // Ed25519 keys tried for a v1a signature; Google publishes 3
	minRSABits     = 2048
	maxRSABits     = 8192
	maxRSAExponent = 1<<31 - 1
)

var errNoUsableKeys = errors.New("JWKS holds no usable signing key")

// keyState is one immutable snapshot of the key set, with the keys already
// in the form crypto/ed25519 and crypto/rsa take, so verification does no
// conversion. A refresh swaps the whole snapshot.
type keyState struct {
	ed        []ed25519.PublicKey // v1a candidates, in document order
	byKID     map[string]jwsKey   // JWS keys; a kid used twice is left out
	fetched   time.Time           // clock time of the fetch
	refreshAt time.Time           // clock time after which a refresh is due
	lastV1a   atomic.Int32        // index in ed of the key that verified last
	dropped   []string            // why keys were ignored, for the log
	capped    []string            // usable keys left out for a cap: a miss may be genuine
}

// jwsKey is a key usable for one JWS algorithm only.
type jwsKey struct {
	alg string // signature.AlgRS256 or signature.AlgEdDSA
	pub crypto.PublicKey
}

// usable reports whether the set may be used: it exists and is no older
// than the maximum staleness.
func (s *keyState) usable(now time.Time) bool {
	return s != nil && now.Sub(s.fetched) <= maxStale
}

// due reports whether a refresh is due: the refresh time has come, or the
// clock has gone back to before the fetch, which says nothing about the
// set's age except that the clock cannot be trusted to measure it.
func (s *keyState) due(now time.Time) bool {
	return !now.Before(s.refreshAt) || now.Before(s.fetched)
}

// jwksEntry is one member of a JWKS "keys" array, reduced to what key
// selection needs. pub is nil when the entry is of a type or curve that
// cannot be read; why then says so.
type jwksEntry struct {
	kid, kty, use, alg string
	ops                []string
	hasOps             bool
	pub                crypto.PublicKey
	why                string
}

// newKeyState keeps the keys fit to verify webhook signatures: RSA keys of
// 2048 to 8192 bits for RS256 and Ed25519 keys for EdDSA and v1a. A key
// whose "use" is not "sig", whose "key_ops" lack "verify", whose "alg"
// names another algorithm, or of any other type or curve is ignored.
func newKeyState(entries []jwksEntry, fetched, refreshAt time.Time) (*keyState, error) {
	s := &keyState{byKID: make(map[string]jwsKey), fetched: fetched, refreshAt: refreshAt}
	dup := map[string]bool{}
	for i, e := range entries {
		k, why := usableKey(e)
		if why != "" {
			s.dropped = append(s.dropped, fmt.Sprintf("key %d (kid %.32q): %s", i, e.kid, why))
			continue
		}
		if ed, ok := k.pub.(ed25519.PublicKey); ok {
			if len(s.ed) < maxV1aKeys {
				s.ed = append(s.ed, ed)
			} else {
				s.capped = append(s.capped, fmt.Sprintf("key %d (kid %.32q): not tried for v1a, which tries the first %d Ed25519 keys", i, e.kid, maxV1aKeys))
			}
		}
		if !signature.ValidKID(e.kid) {
			continue // v1a only: a JWS cannot name it
		}
		if _, seen := s.byKID[e.kid]; seen || dup[e.kid] {
			// Two keys under one kid: which one a token means is
			// ambiguous, so neither verifies a JWS.
			dup[e.kid] = true
			delete(s.byKID, e.kid)
			s.dropped = append(s.dropped, fmt.Sprintf("kid %.32q is used twice", e.kid))
			continue
		}
		s.byKID[e.kid] = k
	}
	if len(s.ed) == 0 && len(s.byKID) == 0 {
		return nil, errNoUsableKeys
	}
	return s, nil
}

// usableKey checks one entry, or says why it is not fit.
func usableKey(e jwksEntry) (jwsKey, string) {
	switch {
	case e.why != "":
		return jwsKey{}, e.why
	case e.use != "" && e.use != "sig":
		return jwsKey{}, fmt.Sprintf("use %.16q", e.use)
	case e.hasOps && !slices.Contains(e.ops, "verify"):
		return jwsKey{}, "key_ops without verify"
	}
	switch pub := e.pub.(type) {
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return jwsKey{}, "bad Ed25519 key"
		}
		if e.alg != "" && e.alg != signature.AlgEdDSA && e.alg != "Ed25519" {
			return jwsKey{}, fmt.Sprintf("Ed25519 key with alg %.16q", e.alg)
		}
		return jwsKey{alg: signature.AlgEdDSA, pub: pub}, ""
	case *rsa.PublicKey:
		if e.alg != "" && e.alg != signature.AlgRS256 {
			return jwsKey{}, fmt.Sprintf("RSA key with alg %.16q", e.alg)
		}
		if n := pub.N.BitLen(); n < minRSABits || n > maxRSABits {
			return jwsKey{}, fmt.Sprintf("RSA key of %d bits", n)
		}
		if pub.E < 3 || pub.E%2 == 0 || pub.E > maxRSAExponent {
			return jwsKey{}, "RSA key with a bad exponent"
		}
		return jwsKey{alg: signature.AlgRS256, pub: pub}, ""
	}
	return jwsKey{}, fmt.Sprintf("key type %.16q", e.kty)
}
