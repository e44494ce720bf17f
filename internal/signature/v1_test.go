package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

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
