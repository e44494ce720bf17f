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
// names winning, as decodeEvent reads the event that will be dispatched.
func (k *keySet) checkClaims(payload, body []byte) error {
	c := jsonObject{doc: payload}
	if c.read() != nil {
		return fmt.Errorf("%w: payload is not a JSON object", errTokenClaims)
	}
	now := k.now().Unix()
	skew := int64(jwsSkew / time.Second)
	exp, ok, err := c.numericDate("exp")
	switch {
	case err != nil:
		return err
	case !ok:
		return errTokenNoExpiry
	case now > exp+skew:
		return errTokenExpired
	}
	iat, hasIat, err := c.numericDate("iat")
	if err != nil {
		return err
	}
	nbf, hasNbf, err := c.numericDate("nbf")
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
	if k.audience != "" && !c.hasAudience(k.audience) {
		return errTokenAudience
	}
	if v, ok := c.get("iss"); ok && jsonString(v) != k.issuer {
		return errTokenIssuer
	}
	b := jsonObject{doc: body}
	if b.read() != nil {
		return fmt.Errorf("%w: body is not a JSON object", errTokenUnbound)
	}
	for _, m := range boundMembers {
		tv, inToken := c.get(m.name)
		if !inToken {
			if m.required {
				return fmt.Errorf("%w: token has no %q", errTokenUnbound, m.name)
			}
			continue
		}
		bv, inBody := b.get(m.name)
		if !inBody || !sameJSON(tv, bv) {
			return fmt.Errorf("%w: %q differs", errTokenUnbound, m.name)
		}
	}
	return nil
}

// jsonObject is one JSON object and its top-level members.
type jsonObject struct {
	doc     []byte
	buf     [16]member
	members []member
}

func (o *jsonObject) read() error {
	var ok bool
	if o.members, ok = topMembers(o.doc, o.buf[:0]); !ok {
		return errTokenClaims
	}
	return nil
}

// get returns the value of the last member called name.
func (o *jsonObject) get(name string) ([]byte, bool) {
	var v []byte
	found := false
	for _, m := range o.members {
		if m.is(name) {
			v, found = m.val, true
		}
	}
	return v, found
}

// numericDate reads a NumericDate claim (RFC 7519 §2): a JSON number of
// seconds, possibly fractional, which is truncated.
func (o *jsonObject) numericDate(name string) (int64, bool, error) {
	v, ok := o.get(name)
	if !ok {
		return 0, false, nil
	}
	if k := v[0]; k != '-' && (k < '0' || k > '9') {
		return 0, false, fmt.Errorf("%w: %s is not a number", errTokenClaims, name)
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return 0, false, fmt.Errorf("%w: %s is out of range", errTokenClaims, name)
	}
	return int64(math.Floor(f)), true, nil
}

// hasAudience accepts "aud" as a string equal to want or as an array of
// strings one of which is want (RFC 7519 §4.1.3).
func (o *jsonObject) hasAudience(want string) bool {
	v, ok := o.get("aud")
	if !ok {
		return false
	}
	switch v[0] {
	case '"':
		return jsonString(v) == want
	case '[':
		var many []string
		if json.Unmarshal(v, &many) != nil {
			return false
		}
		for _, a := range many {
			if a == want {
				return true
			}
		}
	}
	return false
}
