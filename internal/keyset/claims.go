package keyset

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gemhook/gemhook/internal/envelope"
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
	index    int
	required bool
}{{mType, true}, {mData, true}, {mVersion, false}, {mTimestamp, false}, {mUserMetadata, false}}

// checkClaims validates the claims of a token whose signature verified:
// exp (required), nbf and iat against the clock with jwsSkew, the lifetime,
// aud when an audience is configured, iss when present, and the binding of
// the token to body. Members are matched exactly, the last of repeated
// names winning, as the Receiver reads the event it will dispatch.
func (k *Set) checkClaims(payload, body []byte) error {
	var c claimSet
	if c.read(payload) != nil {
		return fmt.Errorf("%w: payload is not a JSON object", errTokenClaims)
	}
	now := k.now().Unix()
	skew := int64(jwsSkew / time.Second)
	exp, ok, err := c.numericDate(mExp)
	switch {
	case err != nil:
		return err
	case !ok:
		return errTokenNoExpiry
	case now > exp+skew:
		return errTokenExpired
	}
	iat, hasIat, err := c.numericDate(mIat)
	if err != nil {
		return err
	}
	nbf, hasNbf, err := c.numericDate(mNbf)
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
	if v, ok := c.get(mIss); ok && v.Text(c.doc) != k.issuer {
		return errTokenIssuer
	}
	var b claimSet
	if b.read(body) != nil {
		return fmt.Errorf("%w: body is not a JSON object", errTokenUnbound)
	}
	for _, m := range boundMembers {
		tv, inToken := c.get(m.index)
		if !inToken {
			if m.required {
				return fmt.Errorf("%w: token has no %q", errTokenUnbound, memberNames[m.index])
			}
			continue
		}
		bv, inBody := b.get(m.index)
		if !inBody || !envelope.Equal(tv.Raw(c.doc), bv.Raw(b.doc)) {
			return fmt.Errorf("%w: %q differs", errTokenUnbound, memberNames[m.index])
		}
	}
	return nil
}

// The members checkClaims reads, as indexes into claimSet.vals.
const (
	mExp = iota
	mIat
	mNbf
	mAud
	mIss
	mType
	mData
	mVersion
	mTimestamp
	mUserMetadata
	nMembers
)

var memberNames = [nMembers]string{"exp", "iat", "nbf", "aud", "iss", "type", "data", "version", "timestamp", "user_metadata"}

// memberIndex maps a member name to its index, or -1.
func memberIndex(name string) int {
	switch name {
	case "exp":
		return mExp
	case "iat":
		return mIat
	case "nbf":
		return mNbf
	case "aud":
		return mAud
	case "iss":
		return mIss
	case "type":
		return mType
	case "data":
		return mData
	case "version":
		return mVersion
	case "timestamp":
		return mTimestamp
	case "user_metadata":
		return mUserMetadata
	}
	return -1
}

// claimSet is one JSON object (a token's claims, or a delivery's body)
// with where the members above are; the last of repeated names wins.
type claimSet struct {
	doc  []byte
	vals [nMembers]envelope.Span
}

func (o *claimSet) read(doc []byte) error {
	var buf [16]envelope.Member
	ms, err := envelope.Members(buf[:0], doc)
	if err != nil {
		return err
	}
	o.doc = doc
	for _, m := range ms {
		if i := memberIndex(string(m.Key(doc))); i >= 0 {
			o.vals[i] = m.Value
		}
	}
	return nil
}

// get returns member i's value; ok is false when it is absent (the zero
// Span: a present value never ends at 0).
func (o *claimSet) get(i int) (envelope.Span, bool) { return o.vals[i], o.vals[i].End != 0 }

// numericDate reads a NumericDate claim (RFC 7519 §2): a JSON number of
// seconds, possibly fractional, which is truncated.
func (o *claimSet) numericDate(i int) (int64, bool, error) {
	v, ok := o.get(i)
	name := memberNames[i]
	if !ok {
		return 0, false, nil
	}
	if k := v.Kind(o.doc); k != '-' && (k < '0' || k > '9') {
		return 0, false, fmt.Errorf("%w: %s is not a number", errTokenClaims, name)
	}
	f, err := strconv.ParseFloat(string(v.Raw(o.doc)), 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return 0, false, fmt.Errorf("%w: %s is out of range", errTokenClaims, name)
	}
	return int64(math.Floor(f)), true, nil
}

// hasAudience accepts "aud" as a string equal to want or as an array of
// strings one of which is want (RFC 7519 §4.1.3).
func (o *claimSet) hasAudience(want string) bool {
	v, ok := o.get(mAud)
	if !ok {
		return false
	}
	switch v.Kind(o.doc) {
	case '"':
		return v.Text(o.doc) == want
	case '[':
		var many []string
		if json.Unmarshal(v.Raw(o.doc), &many) != nil {
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
