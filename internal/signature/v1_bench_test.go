package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

// The signature check alone, against the obvious hand-written loop a user
// would write with crypto/hmac and base64. Both parse the header, compute
// the MAC and compare in constant time. Run:
//
//	go test -run '^$' -bench 'V1Check' -benchmem ./internal/signature/
func BenchmarkV1Check(b *testing.B) {
	for _, size := range []int{300, 16 << 10} {
		key := []byte("0123456789abcdef01234567")
		id, ts := "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330"
		body := []byte(`{"type":"batch.succeeded","data":{"id":"batches/x"},"pad":"` + strings.Repeat("p", size-58) + `"}`)
		header := SignV1(key, id, ts, body)
		name := map[int]string{300: "300B", 16 << 10: "16KiB"}[size]

		b.Run(name+"/gemhook", func(b *testing.B) {
			v := NewV1Verifier([][]byte{key})
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var buf [4]Entry
				entries, err := AppendList(buf[:0], header)
				if err != nil || v.Match(entries, id, ts, body) < 0 {
					b.Fatal("no match")
				}
			}
		})
		b.Run(name+"/plain-hmac", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if !plainCheck(key, id, ts, body, header) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// plainCheck is the baseline: what the Standard Webhooks specification and
// Gemini's guide describe, written directly.
func plainCheck(key []byte, id, ts string, body []byte, header string) bool {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, f := range strings.Fields(header) {
		v, sig, ok := strings.Cut(f, ",")
		if ok && v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}
