package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
)

const macLen = sha256.Size

// SignV1 returns the header entry "v1,<base64 HMAC-SHA256>" for one secret.
func SignV1(key []byte, id, ts string, body []byte) string {
	var sum [macLen]byte
	mac := v1MAC(hmac.New(sha256.New, key), id, ts, body, sum[:0])
	return versionV1 + entrySep + base64.StdEncoding.EncodeToString(mac)
}

// V1Verifier checks v1 entries against a fixed set of keys. It keeps one
// HMAC state per key and reuses it, so a verification allocates nothing;
// it is not safe for concurrent use (pool it).
type V1Verifier struct {
	macs []hash.Hash
}

// NewV1Verifier prepares HMAC states for keys.
func NewV1Verifier(keys [][]byte) *V1Verifier {
	v := &V1Verifier{macs: make([]hash.Hash, len(keys))}
	for i, k := range keys {
		v.macs[i] = hmac.New(sha256.New, k)
	}
	return v
}

// Verify reports whether any v1 entry carries the MAC of id.ts.body under
// any key. Each entry is decoded once; every comparison is constant time, and
// every key is tried for every entry, so timing does not reveal which key or
// entry matched.
func (v *V1Verifier) Verify(entries []Entry, id, ts string, body []byte) bool {
	var want [MaxEntries][macLen]byte
	var have [MaxEntries]bool
	n := 0
	for _, e := range entries {
		if e.Scheme != SchemeV1 || n == MaxEntries {
			continue
		}
		if base64.StdEncoding.EncodedLen(macLen) != len(e.Value) {
			continue
		}
		m, err := base64.StdEncoding.Strict().Decode(want[n][:], []byte(e.Value))
		if err != nil || m != macLen {
			continue
		}
		have[n] = true
		n++
	}
	if n == 0 {
		return false
	}
	ok := 0
	var sum [macLen]byte
	for _, h := range v.macs {
		h.Reset()
		got := v1MAC(h, id, ts, body, sum[:0])
		for i := 0; i < n; i++ {
			if have[i] && hmac.Equal(got, want[i][:]) {
				ok = 1
			}
		}
	}
	return ok == 1
}

// v1MAC writes the signed content piecewise so that the body is never copied.
func v1MAC(h hash.Hash, id, ts string, body []byte, dst []byte) []byte {
	h.Write([]byte(id))
	h.Write([]byte(SignedSep))
	h.Write([]byte(ts))
	h.Write([]byte(SignedSep))
	h.Write(body)
	return h.Sum(dst)
}
