package signature

import (
	"crypto/ed25519"
	"encoding/base64"
)

// SignV1a returns the header entry "v1a,<base64 Ed25519 signature>" over
// id.ts.body, as Gemini sends on per-request webhooks.
func SignV1a(key ed25519.PrivateKey, id, ts string, body []byte) string {
	sig := ed25519.Sign(key, Content(id, ts, body))
	return versionV1a + entrySep + base64.StdEncoding.EncodeToString(sig)
}

var v1aEncodings = [...]*base64.Encoding{
	base64.StdEncoding.Strict(), base64.RawStdEncoding.Strict(),
	base64.URLEncoding.Strict(), base64.RawURLEncoding.Strict(),
}

// DecodeV1a decodes the signature of a v1a entry. Standard base64 is what
// Standard Webhooks specifies; the unpadded and URL-safe alphabets are also
// accepted because Gemini's choice is not documented. ok is false for
// anything that is not exactly one Ed25519 signature.
func DecodeV1a(value string, dst *[ed25519.SignatureSize]byte) bool {
	// The padded forms of a 64-byte signature are 88 characters; 88
	// characters without padding would decode to 66 bytes, so decoding goes
	// through a buffer with room for that and only then is the length checked.
	var buf [ed25519.SignatureSize + 2]byte
	for _, enc := range v1aEncodings {
		if enc.EncodedLen(ed25519.SignatureSize) != len(value) {
			continue
		}
		n, err := enc.Decode(buf[:], []byte(value))
		if err == nil && n == ed25519.SignatureSize {
			copy(dst[:], buf[:n])
			return true
		}
	}
	return false
}
