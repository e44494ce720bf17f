package gemhooktest

import (
	"errors"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// jwsLifetime is how long a JWS delivery's token is valid.
const jwsLifetime = 5 * time.Minute

// signJWS returns a compact RS256 JWS whose claims are the event envelope
// plus iat, exp and, when set, iss and aud: the form Google's guide
// documents for per-request webhooks.
func (s *Server) signJWS(body []byte, now time.Time) (string, error) {
	if s.keys.rsa == nil {
		return "", errors.New("no RSA key (Options.JWS was off at NewServer)")
	}
	claims, err := signature.EventClaims(body, signature.Registered{
		Issuer: s.opts.JWSIssuer, Audience: s.opts.JWSAudience,
		IssuedAt: now, Expiry: now.Add(jwsLifetime),
	})
	if err != nil {
		return "", err
	}
	return signature.SignJWS(s.keys.rsa, s.keys.rsaKID, claims)
}
