package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"hash"
)

const macLen = sha256.Size

// strictStd is built once: Strict returns a copy of the encoding, which
// would cost an allocation per entry on the hot path.
var strictStd = base64.StdEncoding.Strict()

// SignV1 returns the header entry "v1,<base64 HMAC-SHA256>" for one secret.
func SignV1(key []byte, id, ts string, body []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write(appendPrefix(nil, id, ts))
	h.Write(body)
	return versionV1 + entrySep + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// V1Verifier checks v1 entries against a fixed set of keys. It keeps one
// HMAC state per key and reuses it, so a verification allocates nothing;
// it is not safe for concurrent use (pool it).
type V1Verifier struct {
	macs   []hash.Hash
	prefix []byte       // "id.ts." of the delivery being checked
	sum    [macLen]byte // scratch for h.Sum, kept here so it does not escape per call
}

// NewV1Verifier prepares HMAC states for keys.
func NewV1Verifier(keys [][]byte) *V1Verifier {
	v := &V1Verifier{macs: make([]hash.Hash, len(keys))}
	for i, k := range keys {
		v.macs[i] = hmac.New(sha256.New, k)
	}
	return v
}

// Match returns the index of the first key under which a v1 entry carries
// the MAC of id.ts.body, or -1. Each entry is decoded once; every
// comparison is constant time, and every key is tried for every entry, so
// timing does not reveal which key or entry matched.
func (v *V1Verifier) Match(entries []Entry, id, ts string, body []byte) int {
	var want [MaxEntries][macLen]byte
	n := 0
	for _, e := range entries {
		if e.Scheme != SchemeV1 || n == MaxEntries {
			continue
		}
		// A 32-byte MAC is 44 characters ending in one '='. Without the
		// '=' the same length decodes to 33 bytes, one past the buffer.
		if base64.StdEncoding.EncodedLen(macLen) != len(e.Value) || e.Value[len(e.Value)-1] != '=' {
			continue
		}
		m, err := strictStd.Decode(want[n][:], []byte(e.Value))
		if err != nil || m != macLen {
			continue
		}
		n++
	}
	if n == 0 {
		return -1
	}
	v.prefix = appendPrefix(v.prefix[:0], id, ts)
	match := -1
	for k, h := range v.macs {
		h.Reset()
		h.Write(v.prefix)
		h.Write(body)
		got := h.Sum(v.sum[:0])
		eq := 0
		for i := 0; i < n; i++ {
			eq |= subtle.ConstantTimeCompare(got, want[i][:])
		}
		// match becomes k if this key matched and none before it did.
		first := subtle.ConstantTimeEq(int32(match), -1)
		match = subtle.ConstantTimeSelect(eq&first, k, match)
	}
	return match
}

// appendPrefix appends "id.ts." to dst. The body is written to the MAC
// separately, so it is never copied.
func appendPrefix(dst []byte, id, ts string) []byte {
	dst = append(dst, id...)
	dst = append(dst, SignedSep...)
	dst = append(dst, ts...)
	return append(dst, SignedSep...)
}
