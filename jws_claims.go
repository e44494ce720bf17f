package gemhook

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Claim checks. The skew absorbs clock differences between Google and the
// receiver; the lifetime cap keeps a captured token from being replayable
// for long (Google's own ID tokens live an hour).
const (
	jwsSkew        = time.Minute
	jwsMaxLifetime = time.Hour
)

// boundMembers are the envelope members that tie a token to its delivery:
// "type" and "data" must be in the token and equal the body's; the others
// must equal the body's when the token carries them.
var boundMembers = [...]struct {
	name     string
	required bool
}{{"type", true}, {"data", true}, {"version", false}, {"timestamp", false}, {"user_metadata", false}}

// checkClaims validates the claims of a token whose signature verified:
// exp (required), nbf and iat against the clock with jwsSkew, the lifetime,
// aud when an audience is configured, iss when present, and the binding of
// the token to body. Members are matched exactly, the last of repeated
// names winning, as decodeEvent reads the body.
func (k *keySet) checkClaims(payload, body []byte) error {
	var c map[string]json.RawMessage
	if err := json.Unmarshal(payload, &c); err != nil || c == nil {
		return fmt.Errorf("%w: payload is not a JSON object", errTokenClaims)
	}
	now := k.now().Unix()
	skew := int64(jwsSkew / time.Second)
	exp, ok, err := numericDate(c, "exp")
	switch {
	case err != nil:
		return err
	case !ok:
		return errTokenNoExpiry
	case now > exp+skew:
		return errTokenExpired
	}
	iat, hasIat, err := numericDate(c, "iat")
	if err != nil {
		return err
	}
	nbf, hasNbf, err := numericDate(c, "nbf")
	if err != nil {
		return err
	}
	if (hasIat && iat > now+skew) || (hasNbf && nbf > now+skew) {
		return errTokenNotYet
	}
	start := now
	if hasIat {
		start = iat
	}
	if exp-start > int64(jwsMaxLifetime/time.Second)+skew {
		return errTokenLifetime
	}
	if k.audience != "" && !hasAudience(c["aud"], k.audience) {
		return errTokenAudience
	}
	if raw, ok := c["iss"]; ok {
		var iss string
		if json.Unmarshal(raw, &iss) != nil || iss != k.issuer {
			return errTokenIssuer
		}
	}
	return bindsBody(c, body)
}

// numericDate reads a NumericDate claim (RFC 7519 §2): a JSON number of
// seconds, possibly fractional, which is truncated.
func numericDate(c map[string]json.RawMessage, name string) (int64, bool, error) {
	raw, ok := c[name]
	if !ok {
		return 0, false, nil
	}
	if len(raw) == 0 || !(raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
		return 0, false, fmt.Errorf("%w: %s is not a number", errTokenClaims, name)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return 0, false, fmt.Errorf("%w: %s is out of range", errTokenClaims, name)
	}
	return int64(math.Floor(f)), true, nil
}

// hasAudience accepts "aud" as a string equal to want or as an array of
// strings one of which is want (RFC 7519 §4.1.3).
func hasAudience(raw json.RawMessage, want string) bool {
	if len(raw) == 0 {
		return false
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(raw, &many) != nil {
		return false
	}
	for _, a := range many {
		if a == want {
			return true
		}
	}
	return false
}

// bindsBody checks that the token carries body's event.
func bindsBody(c map[string]json.RawMessage, body []byte) error {
	var b map[string]json.RawMessage
	if err := json.Unmarshal(body, &b); err != nil || b == nil {
		return fmt.Errorf("%w: body is not a JSON object", errTokenUnbound)
	}
	for _, m := range boundMembers {
		tv, inToken := c[m.name]
		if !inToken {
			if m.required {
				return fmt.Errorf("%w: token has no %q", errTokenUnbound, m.name)
			}
			continue
		}
		bv, inBody := b[m.name]
		if !inBody || !sameJSON(tv, bv) {
			return fmt.Errorf("%w: %q differs", errTokenUnbound, m.name)
		}
	}
	return nil
}
