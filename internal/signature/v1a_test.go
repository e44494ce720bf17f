package signature

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
)

func TestV1a(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	id, ts, body := "msg_1", "1700000000", []byte(`{}`)
	entry := SignV1a(priv, id, ts, body)
	entries, err := ParseList(entry)
	if err != nil || entries[0].Scheme != SchemeV1a {
		t.Fatalf("ParseList(%q) = %v, %v", entry, entries, err)
	}
	var sig [ed25519.SignatureSize]byte
	if !DecodeV1a(entries[0].Value, &sig) || !ed25519.Verify(pub, Content(id, ts, body), sig[:]) {
		t.Fatal("v1a round trip failed")
	}
	raw := sig[:]
	for _, form := range []string{base64.RawStdEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw)} {
		var got [ed25519.SignatureSize]byte
		if !DecodeV1a(form, &got) || got != sig {
			t.Errorf("DecodeV1a(%q) failed", form)
		}
	}
	for _, bad := range []string{"", "AAAA", strings.Repeat("A", 87), base64.StdEncoding.EncodeToString(raw[:63])} {
		var got [ed25519.SignatureSize]byte
		if DecodeV1a(bad, &got) {
			t.Errorf("DecodeV1a(%q) accepted", bad)
		}
	}
}
