package gemhook

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/signature"
)

// capSet is a key set of n Ed25519 keys (kids c0, c1, ...) and their
// private halves.
func capSet(t testing.TB, n int) ([]byte, []ed25519.PrivateKey) {
	t.Helper()
	keys := make([]signature.JWK, n)
	priv := make([]ed25519.PrivateKey, n)
	for i := range n {
		pub, p, _ := ed25519.GenerateKey(rand.Reader)
		keys[i], priv[i] = signature.JWK{KID: "c" + strconv.Itoa(i), Key: pub}, p
	}
	return ksDoc(t, keys...), priv
}

// Finding 7 of issue 13: a genuine delivery signed by a key that a cap
// left out could not be checked, which is not a forgery: it is answered
// 503 (Gemini retries) and logged at Warn, never 401 (which, retried for
// a day, loses the event).
func TestKeyDroppedForCapIsUnavailable(t *testing.T) {
	body := []byte(ksBody)
	nineEd, nine := capSet(t, maxV1aKeys+1)
	manyKeys, many := capSet(t, maxJWKSKeys+1)
	bigSet, big := capSet(t, 3)
	pad := `{"kty":"oct","k":"` + strings.Repeat("A", maxJWKSBytes) + `"},`
	bigSet = []byte(strings.Replace(string(bigSet), `"keys":[`, `"keys":[`+pad, 1))
	cases := []struct {
		name string
		doc  []byte
		sign func(f *ksFixture, id string) http.Header
	}{
		{"9th Ed25519 key, v1a", nineEd, func(f *ksFixture, id string) http.Header {
			ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
			return f.headers(id, signature.SignV1a(nine[maxV1aKeys], id, ts, body))
		}},
		{"33rd key, v1a", manyKeys, func(f *ksFixture, id string) http.Header {
			ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
			return f.headers(id, signature.SignV1a(many[maxJWKSKeys], id, ts, body))
		}},
		{"33rd key, JWS", manyKeys, func(f *ksFixture, id string) http.Header {
			tok, err := signature.SignJWS(many[maxJWKSKeys], "c"+strconv.Itoa(maxJWKSKeys), f.claims(t, ksBody, nil))
			if err != nil {
				t.Fatal(err)
			}
			return f.headers(id, tok)
		}},
		{"set over 256 KiB, v1a", bigSet, func(f *ksFixture, id string) http.Header {
			ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
			return f.headers(id, signature.SignV1a(big[0], id, ts, body))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer leaktest.Check(t)()
			logs := &syncBuffer{}
			f := newKS(t, c.doc, func(cfg *ReceiverConfig) {
				cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			})
			defer f.close()
			for i := range 2 { // the first fetch, then the refetch after a miss
				id := "msg_" + strconv.Itoa(i)
				if _, err := f.verify(c.sign(f, id), body); !errors.Is(err, ErrKeysUnavailable) {
					t.Fatalf("Verify: %v, want ErrKeysUnavailable", err)
				}
				wantUnavailable(t, f.serveHTTP(c.sign(f, id), body))
				f.clk.Advance(jwksMissCooldown)
			}
			if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "cap") {
				t.Fatalf("no warning about the cap in the log:\n%s", l)
			}
		})
	}
}

// Finding 8 of issue 13: a forged v1a delivery costs at most maxV1aChecks
// Ed25519 verifications, however many entries it carries, against a full
// set of keys, and the refetch after the miss tries only keys it had not.
func TestV1aWorkCapped(t *testing.T) {
	defer leaktest.Check(t)()
	doc, _ := capSet(t, maxV1aKeys)
	f := newKS(t, doc, func(cfg *ReceiverConfig) { cfg.MaxBodyBytes = 1 << 20 })
	defer f.close()
	var calls int
	verifyEd25519 = func(pub ed25519.PublicKey, msg, sig []byte) bool { calls++; return ed25519.Verify(pub, msg, sig) }
	defer func() { verifyEd25519 = ed25519.Verify }()
	body := []byte(`{"type":"batch.succeeded","pad":"` + strings.Repeat("p", 1<<20-64) + `"}`)
	var forged []string
	for range 16 {
		forged = append(forged, "v1a,"+randB64(t, ed25519.SignatureSize))
	}
	for i := range 2 {
		calls = 0
		if _, err := f.verify(f.headers("msg_"+strconv.Itoa(i), forged...), body); !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("forged delivery %d: %v, want ErrNoMatchingSignature", i, err)
		}
		if calls > maxV1aChecks || calls == 0 {
			t.Fatalf("forged delivery %d cost %d verifications, want 1 to %d", i, calls, maxV1aChecks)
		}
		f.clk.Advance(jwksMissCooldown) // the next miss refetches
	}
	if f.srv.hits.Load() < 2 {
		t.Fatal("the set was never refetched after a miss")
	}
}
