package keyset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/gemhook/gemhook/internal/signature"
)

// maxJWSEntries bounds the tokens one delivery can make the set verify.
const maxJWSEntries = 2

// defaultIssuer is the "iss" a token must carry when it carries one and
// Config.Issuer is empty. Google documents no issuer for these tokens; the
// key set is published by this origin, and an issuer that publishes its
// keys at <origin>/.well-known/jwks.json names itself by that origin (as
// OpenID providers do), so this is the value to expect. Tokens without
// "iss" are accepted, because the key set already identifies the signer.
const defaultIssuer = signature.GeminiIssuer

// Reasons a token is refused. Each is wrapped together with ErrNoMatch.
var (
	errUnknownKID     = errors.New("jws: kid names no key in the key set")
	errKeyAlg         = errors.New("jws: the key named by kid is not for this algorithm")
	errTokenExpired   = errors.New("jws: token expired")
	errTokenNoExpiry  = errors.New(`jws: token has no "exp"`)
	errTokenNotYet    = errors.New("jws: token not valid yet (nbf or iat in the future)")
	errTokenLifetime  = errors.New("jws: token lifetime too long")
	errTokenAudience  = errors.New("jws: audience mismatch")
	errTokenIssuer    = errors.New("jws: issuer mismatch")
	errTokenClaims    = errors.New("jws: malformed claims")
	errTokenUnbound   = errors.New("jws: token does not carry this delivery's event")
	errTokenMalformed = errors.New("jws: malformed token")
)

// VerifyJWS checks the compact JWS entries among entries. Each token is
// parsed and checked for shape before any key is looked up, so garbage
// never causes a fetch. A kid that is not in the set causes one refetch
// per cooldown (the keys may have rotated); if the set cannot be
// refetched, such a token could not be checked and the error is
// ErrUnavailable. A token that verifies must also carry valid claims and
// the delivery's own event (its "type" and "data" equal body's).
//
// replay names the token that verified: a JWS covers neither webhook-id
// nor webhook-timestamp, so the Receiver remembers the token itself, and
// a captured token sent again under a fresh id is a duplicate, not a new
// event. It starts with "jws:" and is the same for every copy of one
// token.
func (k *Set) VerifyJWS(ctx context.Context, entries []signature.Entry, body []byte) (replay string, err error) {
	var toks [maxJWSEntries]*signature.JWS
	n := 0
	var why error
	for _, e := range entries {
		if e.Scheme != signature.SchemeJWS || n == maxJWSEntries {
			continue
		}
		t, err := signature.ParseJWS(e.Value)
		if err != nil {
			why = cmpErr(why, fmt.Errorf("%w: %w", errTokenMalformed, err))
			continue
		}
		toks[n] = t
		n++
	}
	if n == 0 {
		return "", fmt.Errorf("%w: %w", ErrNoMatch, why)
	}
	s, err := k.current(ctx)
	if err != nil {
		return "", err
	}
	refreshed := false
	var unavailable error // the refetch for an unknown kid failed
	unknown := false
	for _, t := range toks[:n] {
		key, ok := s.byKID[t.KID]
		if !ok && !refreshed {
			refreshed = true
			var s2 *keyState
			if s2, unavailable = k.refetch(ctx, s); s2 != nil {
				s = s2
				key, ok = s.byKID[t.KID]
			}
		}
		if !ok {
			unknown = true
			why = cmpErr(why, errUnknownKID)
			continue
		}
		if key.alg != t.Alg {
			why = cmpErr(why, errKeyAlg)
			continue
		}
		if err := t.Verify(key.pub); err != nil {
			why = cmpErr(why, err)
			continue
		}
		// Signed by a published key: from here on, a failure is about
		// the token's claims, which is still a refusal.
		if err := k.checkClaims(t.Payload, body); err != nil {
			why = err
			continue
		}
		return replayKey(t.Signature), nil
	}
	if unknown && unavailable != nil {
		// A kid the set could not be brought up to date for.
		return "", unavailable
	}
	return "", fmt.Errorf("%w: %w", ErrNoMatch, why)
}

// cmpErr keeps the first reason; later tokens rarely say more.
func cmpErr(have, next error) error {
	if have != nil {
		return have
	}
	return next
}

// replayKey names a verified token by its signature, which no other valid
// token shares; the prefix and the hash keep it apart from webhook-ids in
// the Receiver's dedupe set.
func replayKey(sig []byte) string {
	sum := sha256.Sum256(sig)
	return "jws:" + hex.EncodeToString(sum[:16])
}
