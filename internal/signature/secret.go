package signature

import (
	"encoding/base64"
	"errors"
	"strings"
)

// SecretPrefix marks a Standard Webhooks symmetric secret.
const SecretPrefix = "whsec_"

// ErrBadSecret is returned for a secret that is empty or not base64.
var ErrBadSecret = errors.New("webhook secret is empty or not base64")

// DecodeSecret turns a "whsec_..." secret into the HMAC key. The prefix is
// optional, and padded and unpadded base64 are both accepted: Gemini's
// secrets are padded, but secrets copied by hand often lose the padding, and
// other Standard Webhooks libraries accept both. Unused trailing bits of the
// last character are ignored, as the Go and Python reference libraries do,
// so every library derives the same key from the same text.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix))
	if s == "" {
		return nil, ErrBadSecret
	}
	enc := base64.StdEncoding
	if !strings.HasSuffix(s, "=") {
		enc = base64.RawStdEncoding
	}
	key, err := enc.DecodeString(s)
	if err != nil || len(key) == 0 {
		return nil, ErrBadSecret
	}
	return key, nil
}

// EncodeSecret is the inverse of DecodeSecret: "whsec_" and padded base64.
func EncodeSecret(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}
