package signature

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

// An unpadded entry as long as a padded signature decodes to more than 64
// bytes in the padded alphabets; it must be refused, not written past dst.
func TestDecodeV1aUnpaddedFullLength(t *testing.T) {
	var dst [ed25519.SignatureSize]byte
	for _, v := range []string{strings.Repeat("0", 88), strings.Repeat("A", 88), strings.Repeat("_", 88)} {
		if DecodeV1a(v, &dst) {
			t.Fatalf("%q decoded as a signature", v)
		}
	}
	entry := SignV1a(ed25519.NewKeyFromSeed(make([]byte, 32)), "id", "1", nil)
	if !DecodeV1a(strings.TrimPrefix(entry, "v1a,"), &dst) {
		t.Fatal("a real signature did not decode")
	}
}
