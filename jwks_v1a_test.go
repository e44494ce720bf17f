package gemhook

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/signature"
)

func TestV1aEveryPublishedKeyVerifies(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	body := []byte(ksBody)
	for i := range 3 {
		ev, err := f.verify(f.v1a(i, "msg_"+strconv.Itoa(i), body), body)
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if ev.Scheme != "v1a" || ev.Resource != "batches/abc" {
			t.Fatalf("key %d: event %+v", i, ev)
		}
		if got := f.k.state.Load().lastV1a.Load(); got != int32(i) {
			t.Fatalf("last matched key = %d, want %d", got, i)
		}
	}
	if n := f.srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestV1aRejects(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	body := []byte(ksBody)
	ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
	_, outsider, _ := ed25519.GenerateKey(rand.Reader)
	good := signature.SignV1a(ksEd(0), "msg_1", ts, body)
	cases := map[string]http.Header{
		"key outside the set": f.headers("msg_1", signature.SignV1a(outsider, "msg_1", ts, body)),
		"other id":            f.headers("msg_2", good),
		"other timestamp":     f.headers("msg_1", signature.SignV1a(ksEd(0), "msg_1", strconv.FormatInt(f.clk.Now().Unix()-1, 10), body)),
		"short signature":     f.headers("msg_1", "v1a,"+base64.StdEncoding.EncodeToString(make([]byte, 63))),
		"not base64":          f.headers("msg_1", "v1a,"+strings.Repeat("!", 88)),
		"signed as v1":        f.headers("msg_1", "v1,"+strings.TrimPrefix(good, "v1a,")),
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.verify(h, body)
			if !errors.Is(err, ErrNoMatchingSignature) || errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("err = %v, want ErrNoMatchingSignature", err)
			}
		})
	}
	t.Run("tampered body", func(t *testing.T) {
		tampered := []byte(strings.Replace(ksBody, "abc", "abd", 1))
		if _, err := f.verify(f.headers("msg_1", good), tampered); !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("err = %v", err)
		}
	})
	if rec := f.serveHTTP(cases["key outside the set"], body); rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rec.Code)
	}
	// Every failure happened within the cooldown of the first fetch.
	if n := f.srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestV1aSignatureEncodingsAndRotationEntries(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	body := []byte(ksBody)
	ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
	sig := ed25519.Sign(ksEd(1), []byte("msg_1."+ts+"."+ksBody))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if _, err := f.verify(f.headers("msg_1", "v1a,"+enc.EncodeToString(sig)), body); err != nil {
			t.Fatalf("%v", err)
		}
	}
	_, outsider, _ := ed25519.GenerateKey(rand.Reader)
	h := f.headers("msg_1", "v2,whatever", signature.SignV1a(outsider, "msg_1", ts, body), signature.SignV1a(ksEd(2), "msg_1", ts, body))
	if ev, err := f.verify(h, body); err != nil || ev.Scheme != "v1a" {
		t.Fatalf("rotation list: %v", err)
	}
}

// A receiver that accepts per-request deliveries fetches no keys while
// only project-level ones arrive.
func TestKeySetIsLazy(t *testing.T) {
	defer leaktest.Check(t)()
	secret := signature.EncodeSecret([]byte("0123456789abcdef0123456789abcdef"))
	tr := &countingTransport{}
	r, err := NewReceiver(ReceiverConfig{Secrets: []string{secret}, JWKSURL: GeminiJWKSURL,
		HTTPClient: &http.Client{Transport: tr}, Now: func() time.Time { return ksEpoch }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	key, _ := signature.DecodeSecret(secret)
	ts := strconv.FormatInt(ksEpoch.Unix(), 10)
	h := http.Header{}
	h.Set("Webhook-Id", "msg_1")
	h.Set("Webhook-Timestamp", ts)
	h.Set("Webhook-Signature", signature.SignV1(key, "msg_1", ts, []byte(ksBody)))
	if _, err := r.Verify(t.Context(), h, []byte(ksBody)); err != nil {
		t.Fatal(err)
	}
	// A JWS entry that fails its shape checks does not need keys either.
	h.Set("Webhook-Signature", "aaa.bbb.ccc")
	if _, err := r.Verify(t.Context(), h, []byte(ksBody)); !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("err = %v", err)
	}
	r.keys.mu.Lock()
	started, attempted := r.keys.started, !r.keys.lastAttempt.IsZero()
	r.keys.mu.Unlock()
	if started || attempted || r.keys.state.Load() != nil || tr.n.Load() != 0 {
		t.Fatal("the key set was fetched or its refresher started")
	}
}

// A key Google adds is picked up within the cooldown, even right after a
// storm of signatures that match nothing.
func TestV1aKeyAddedLaterAfterStorm(t *testing.T) {
	defer leaktest.Check(t)()
	_, newKey, _ := ed25519.GenerateKey(rand.Reader)
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	body := []byte(ksBody)
	if _, err := f.verify(f.v1a(0, "msg_0", body), body); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(jwksMissCooldown + time.Second)
	junk := make([]byte, ed25519.SignatureSize)
	for i := range 1000 {
		rand.Read(junk)
		id := "msg_storm" + strconv.Itoa(i)
		if _, err := f.verify(f.headers(id, "v1a,"+base64.StdEncoding.EncodeToString(junk)), body); !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("storm %d: %v", i, err)
		}
	}
	if n := f.srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches after the storm, want 2 (first + one refetch)", n)
	}
	f.srv.serve(ksDoc(t, signature.JWK{KID: "e1", Key: ksEd(0).Public()}, signature.JWK{KID: "new", Key: newKey.Public()}))
	ts := strconv.FormatInt(f.clk.Now().Unix(), 10)
	h := f.headers("msg_new", signature.SignV1a(newKey, "msg_new", ts, body))
	if _, err := f.verify(h, body); !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("within the cooldown: %v", err)
	}
	f.clk.Advance(jwksMissCooldown)
	h = f.headers("msg_new", signature.SignV1a(newKey, "msg_new", strconv.FormatInt(f.clk.Now().Unix(), 10), body))
	if _, err := f.verify(h, body); err != nil {
		t.Fatalf("%v after the cooldown", err)
	}
	if n := f.srv.hits.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
	// The dropped keys no longer verify.
	if _, err := f.verify(f.v1a(2, "msg_old", body), body); !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("removed key: %v", err)
	}
}
