package signature

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestCheckID(t *testing.T) {
	for _, id := range []string{"msg_p5jXN8AQM9LWM0D4loKWxJek", "a", strings.Repeat("x", MaxIDLen), "ü-ok"} {
		if err := CheckID(id); err != nil {
			t.Errorf("CheckID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "a.b", ".", strings.Repeat("x", MaxIDLen+1), "a b", "a\tb", "a\x00", "a\x7f"} {
		if err := CheckID(id); !errors.Is(err, ErrBadID) {
			t.Errorf("CheckID(%q) = %v, want ErrBadID", id, err)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	good := map[string]int64{"1": 1, "1614265330": 1614265330, "9223372036854775807": 1<<63 - 1}
	for s, want := range good {
		if got, err := ParseTimestamp(s); err != nil || got != want {
			t.Errorf("ParseTimestamp(%q) = %d, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "0", "01", "+1", "-1", " 1", "1 ", "1.0", "1e3", "0x10", "9223372036854775808", "99999999999999999999", "hello", "١٢٣"} {
		if _, err := ParseTimestamp(s); !errors.Is(err, ErrBadTimestamp) {
			t.Errorf("ParseTimestamp(%q) = %v, want ErrBadTimestamp", s, err)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("v1,AAA  v1a,BBB\tv2,CCC junk a.b.c v1,")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{SchemeV1, "AAA"}, {SchemeV1a, "BBB"}, {SchemeUnknown, "CCC"}, {SchemeUnknown, "junk"}, {SchemeJWS, "a.b.c"}, {SchemeV1, ""}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := ParseList(strings.Repeat("v1,x ", MaxEntries+1)); !errors.Is(err, ErrTooMany) {
		t.Errorf("too many: %v", err)
	}
	if _, err := ParseList(strings.Repeat("v1,x ", MaxEntries)); err != nil {
		t.Errorf("MaxEntries entries: %v", err)
	}
	if _, err := ParseList(strings.Repeat(" ", MaxListLen+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("too long: %v", err)
	}
	for _, s := range []string{"", " ", "\t \n"} {
		if _, err := ParseList(s); !errors.Is(err, ErrEmptyList) {
			t.Errorf("ParseList(%q) = %v, want ErrEmptyList", s, err)
		}
	}
	buf := make([]Entry, 1, 8)
	out, err := AppendList(buf, "v1,a v1,b")
	if err != nil || len(out) != 3 || out[1].Value != "a" {
		t.Fatalf("AppendList = %v, %v", out, err)
	}
}

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

// refV1 is an independent v1 signature: crypto/hmac over the concatenation.
func refV1(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(body)))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestV1(t *testing.T) {
	k1, k2 := []byte("key-one-0123456789abcdef"), []byte("key-two-0123456789abcdef")
	id, ts, body := "msg_1", "1700000000", []byte(`{"a":1}`)
	if got, want := SignV1(k1, id, ts, body), refV1(k1, id, ts, body); got != want {
		t.Fatalf("SignV1 = %s, want %s", got, want)
	}
	v := NewV1Verifier([][]byte{k2, k1})
	check := func(header string, want bool) {
		t.Helper()
		entries, err := ParseList(header)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Verify(entries, id, ts, body); got != want {
			t.Errorf("Verify(%q) = %v, want %v", header, got, want)
		}
	}
	right := refV1(k1, id, ts, body)
	check(right, true)
	check("v1a,xyz v2,abc "+right, true)
	check("v1,"+right[3:len(right)-2]+"A=", false)
	check("v2,"+right[3:], false)
	check(refV1([]byte("other"), id, ts, body), false)
	check(refV1(k1, id, "1700000001", body), false)
	check("v1,"+strings.TrimRight(right[3:], "="), false) // unpadded MAC: not what the spec sends
	// Reuse: the pooled states must not carry anything between calls.
	for range 3 {
		check(right, true)
		check(refV1(k2, id, ts, body), true)
	}
	if NewV1Verifier(nil).Verify([]Entry{{SchemeV1, right[3:]}}, id, ts, body) {
		t.Error("a verifier without keys accepted")
	}
}

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

func TestSchemeString(t *testing.T) {
	for s, want := range map[Scheme]string{SchemeV1: "v1", SchemeV1a: "v1a", SchemeJWS: "jws", SchemeUnknown: "unknown"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}

// Verifying allocates nothing: it runs on every delivery.
func TestV1VerifyAllocs(t *testing.T) {
	key := []byte("key-one-0123456789abcdef")
	body := []byte(strings.Repeat("x", 300))
	v := NewV1Verifier([][]byte{key})
	entries, _ := ParseList(refV1(key, "msg_1", "1700000000", body))
	allocs := testing.AllocsPerRun(100, func() {
		if !v.Verify(entries, "msg_1", "1700000000", body) {
			t.Fatal("no match")
		}
	})
	if allocs != 0 {
		t.Fatalf("Verify allocates %v times", allocs)
	}
}
