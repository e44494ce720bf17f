package signature

import (
	"errors"
	"strings"
	"testing"
)

func TestSecrets(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	enc := EncodeSecret(key)
	if !strings.HasPrefix(enc, SecretPrefix) {
		t.Fatalf("EncodeSecret = %q", enc)
	}
	for _, s := range []string{enc, enc[len(SecretPrefix):], strings.TrimRight(enc, "="), " " + enc + " "} {
		k, err := DecodeSecret(s)
		if err != nil || string(k) != string(key) {
			t.Errorf("DecodeSecret(%q) = %q, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "whsec_", "whsec_!!!", "whsec_a", "whsec_a==="} {
		if _, err := DecodeSecret(s); !errors.Is(err, ErrBadSecret) {
			t.Errorf("DecodeSecret(%q) = %v, want ErrBadSecret", s, err)
		}
	}
	// Standard Webhooks secrets are 24 to 64 bytes; a shorter one is a
	// guessable HMAC key, or a paste that lost its end.
	for _, n := range []int{1, 16, MinSecretLen - 1} {
		if _, err := DecodeSecret(EncodeSecret(make([]byte, n))); !errors.Is(err, ErrShortSecret) {
			t.Errorf("DecodeSecret of %d bytes = %v, want ErrShortSecret", n, err)
		}
	}
	for _, n := range []int{MinSecretLen, 64, 100} {
		if _, err := DecodeSecret(EncodeSecret(make([]byte, n))); err != nil {
			t.Errorf("DecodeSecret of %d bytes = %v", n, err)
		}
	}
}
