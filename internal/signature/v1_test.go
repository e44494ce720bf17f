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
	// want is the index of the key that signed, or -1.
	check := func(header string, want int) {
		t.Helper()
		entries, err := ParseList(header)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Match(entries, id, ts, body); got != want {
			t.Errorf("Match(%q) = %d, want %d", header, got, want)
		}
	}
	right := refV1(k1, id, ts, body)
	check(right, 1)
	check("v1a,xyz v2,abc "+right, 1)
	check(refV1(k2, id, ts, body)+" "+right, 0) // the first key that matched
	check("v1,"+right[3:len(right)-2]+"A=", -1)
	check("v2,"+right[3:], -1)
	check(refV1([]byte("other"), id, ts, body), -1)
	check(refV1(k1, id, "1700000001", body), -1)
	check("v1,"+strings.TrimRight(right[3:], "="), -1) // unpadded MAC: not what the spec sends
	// Reuse: the pooled states must not carry anything between calls.
	for range 3 {
		check(right, 1)
		check(refV1(k2, id, ts, body), 0)
	}
	if NewV1Verifier(nil).Match([]Entry{{SchemeV1, right[3:]}}, id, ts, body) >= 0 {
		t.Error("a verifier without keys accepted")
	}
}

// Matching allocates nothing: it runs on every delivery.
func TestV1MatchAllocs(t *testing.T) {
	key := []byte("key-one-0123456789abcdef")
	body := []byte(strings.Repeat("x", 300))
	v := NewV1Verifier([][]byte{key})
	entries, _ := ParseList(refV1(key, "msg_1", "1700000000", body))
	allocs := testing.AllocsPerRun(100, func() {
		if v.Match(entries, "msg_1", "1700000000", body) < 0 {
			t.Fatal("no match")
		}
	})
	if allocs != 0 {
		t.Fatalf("Match allocates %v times", allocs)
	}
}
