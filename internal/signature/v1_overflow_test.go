package signature

import (
	"strings"
	"testing"
)

// A v1 entry of the right length but without padding decodes to one byte
// more than a MAC; it must be skipped, not written past the buffer.
func TestV1UnpaddedFullLengthEntry(t *testing.T) {
	v := NewV1Verifier([][]byte{[]byte("key")})
	for _, val := range []string{strings.Repeat("A", 44), strings.Repeat("/", 44), strings.Repeat("A", 43) + "B"} {
		entries, err := ParseList("v1," + val)
		if err != nil {
			t.Fatal(err)
		}
		if v.Match(entries, "msg_1", "1700000000", []byte("{}")) >= 0 {
			t.Fatalf("entry %q verified", val)
		}
	}
}
