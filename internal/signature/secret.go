package signature

import (
	"encoding/base64"
	"errors"
	"strings"
)

// SecretPrefix marks a Standard Webhooks symmetric secret.
const SecretPrefix = "whsec_"

// MinSecretLen is the shortest key Standard Webhooks allows (its secrets
// are 24 to 64 bytes; Gemini issues 32).
const MinSecretLen = 24

var (
	// ErrBadSecret is returned for a secret that is empty or not base64.
	ErrBadSecret = errors.New("webhook secret is empty or not base64")
	// ErrShortSecret is returned for a key shorter than MinSecretLen: a
	// weak HMAC key, or a secret that lost its end when it was copied.
	ErrShortSecret = errors.New("webhook secret is shorter than 24 bytes (Standard Webhooks secrets are 24 to 64)")
)

// DecodeSecret turns a "whsec_..." secret into the HMAC key. The prefix is
// optional, and padded and unpadded base64 are both accepted: Gemini's
// secrets are padded, but secrets copied by hand often lose the padding, and
// other Standard Webhooks libraries accept both. Unused trailing bits of the
// last character are ignored, as the Go and Python reference libraries do,
// so every library derives the same key from the same text. Keys shorter
// than MinSecretLen are refused.
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
	if len(key) < MinSecretLen {
		return nil, ErrShortSecret
	}
	return key, nil
}

// EncodeSecret is the inverse of DecodeSecret: "whsec_" and padded base64.
func EncodeSecret(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}
