package keyset

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// Ed25519 keys beyond the v1a cap are still JWS keys, and the log says why
// v1a does not try them.
func TestV1aKeyCap(t *testing.T) {
	t.Parallel()
	keys := make([]signature.JWK, maxV1aKeys+1)
	for i := range keys {
		keys[i] = signature.JWK{KID: fmt.Sprint("k", i), Key: outsider(t).Public()}
	}
	entries, err := parseJWKS(jwksDoc(t, keys...))
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(1_800_000_000, 0)
	s, err := newKeyState(entries, epoch, epoch)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ed) != maxV1aKeys || len(s.byKID) != maxV1aKeys+1 {
		t.Fatalf("%d v1a keys, %d JWS keys", len(s.ed), len(s.byKID))
	}
	if len(s.capped) != 1 || !strings.Contains(s.capped[0], "v1a") || len(s.dropped) != 0 {
		t.Fatalf("capped = %q, dropped = %q", s.capped, s.dropped)
	}
}

// K-7: two keys under one kid verify no JWS; the other kids are unharmed.
func TestDuplicateKids(t *testing.T) {
	t.Parallel()
	doc := jwksDoc(t,
		signature.JWK{KID: "dup", Key: &rsaKey(0).PublicKey},
		signature.JWK{KID: "dup", Key: &rsaKey(1).PublicKey},
		signature.JWK{KID: "r1", Key: &rsaKey(0).PublicKey})
	f := newFixture(t, doc, withAudience)
	claims := f.claims(t, eventBody, nil)
	for _, key := range []int{0, 1} {
		tok, _ := signature.SignJWS(rsaKey(key), "dup", claims)
		if _, err := f.jws(t, tok, eventBody); !errors.Is(err, errUnknownKID) {
			t.Fatalf("dup kid signed by key %d: %v", key, err)
		}
	}
	tok, _ := signature.SignJWS(rsaKey(0), "r1", claims)
	if _, err := f.jws(t, tok, eventBody); err != nil {
		t.Fatalf("r1: %v", err)
	}
}

// capSet is a key set of n Ed25519 keys (kids c0, c1, ...) and their
// private halves.
func capSet(t testing.TB, n int) ([]byte, []ed25519.PrivateKey) {
	t.Helper()
	keys := make([]signature.JWK, n)
	priv := make([]ed25519.PrivateKey, n)
	for i := range n {
		priv[i] = outsider(t)
		keys[i] = signature.JWK{KID: "c" + strconv.Itoa(i), Key: priv[i].Public()}
	}
	return jwksDoc(t, keys...), priv
}

// lockedBuffer is a log destination for the Set's goroutines and the
// test's.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Finding 7 of issue 13: a genuine delivery signed by a key that a cap
// left out could not be checked, which is not a forgery: it is
// unavailable (Gemini retries) and logged at Warn, never refused (which,
// retried for a day, loses the event).
func TestKeyDroppedForCapIsUnavailable(t *testing.T) {
	t.Parallel()
	nineEd, nine := capSet(t, maxV1aKeys+1)
	manyKeys, many := capSet(t, maxKeys+1)
	bigSet, big := capSet(t, 3)
	pad := `{"kty":"oct","k":"` + strings.Repeat("A", maxBytes) + `"},`
	bigSet = []byte(strings.Replace(string(bigSet), `"keys":[`, `"keys":[`+pad, 1))
	cases := []struct {
		name   string
		doc    []byte
		verify func(f *fixture, t *testing.T) error
	}{
		{"9th Ed25519 key, v1a", nineEd, func(f *fixture, t *testing.T) error { return f.v1a(t, nine[maxV1aKeys]) }},
		{"33rd key, v1a", manyKeys, func(f *fixture, t *testing.T) error { return f.v1a(t, many[maxKeys]) }},
		{"33rd key, JWS", manyKeys, func(f *fixture, t *testing.T) error {
			tok, err := signature.SignJWS(many[maxKeys], "c"+strconv.Itoa(maxKeys), f.claims(t, eventBody, nil))
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.jws(t, tok, eventBody)
			return err
		}},
		{"set over 256 KiB, v1a", bigSet, func(f *fixture, t *testing.T) error { return f.v1a(t, big[0]) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				logs := &lockedBuffer{}
				f := newFixture(t, c.doc, func(cfg *Config) {
					cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
				})
				for range 2 { // the first fetch, then the refetch after a miss
					wantUnavailable(t, c.name, c.verify(f, t))
					time.Sleep(missCooldown)
				}
				if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "cap") {
					t.Fatalf("no warning about the cap in the log:\n%s", l)
				}
			})
		})
	}
}

// J-20: keys that are not for signing, or of another type, never verify.
func TestUnfitKeys(t *testing.T) {
	t.Parallel()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(jwksDoc(t, signature.JWK{KID: "r1", Key: &rsaKey(0).PublicKey}), &set)
	r1 := set.Keys[0]
	variant := func(kid string, e func(map[string]any)) map[string]any {
		m := map[string]any{}
		for k, v := range r1 {
			m[k] = v
		}
		m["kid"] = kid
		e(m)
		return m
	}
	doc, _ := json.Marshal(map[string]any{"keys": []any{
		variant("enc", func(m map[string]any) { m["use"] = "enc" }),
		variant("ops", func(m map[string]any) { m["key_ops"] = []string{"encrypt"} }),
		variant("rs512", func(m map[string]any) { m["alg"] = "RS512" }),
		variant("noalg", func(m map[string]any) { delete(m, "alg") }),
		map[string]any{"kty": "EC", "crv": "P-256", "kid": "ec", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRjlo36o7d86tCNkcCP0fw8WTnnkAC5j1XeLkYY"},
		map[string]any{"kty": "oct", "kid": "oct", "k": "c2VjcmV0"},
		map[string]any{"kty": "OKP", "crv": "X25519", "kid": "x25519", "x": base64.RawURLEncoding.EncodeToString(make([]byte, 32))},
	}})
	f := newFixture(t, doc, withAudience)
	claims := f.claims(t, eventBody, nil)
	for _, kid := range []string{"enc", "ops", "rs512", "ec", "oct", "x25519"} {
		tok := rawJWS(t, `{"alg":"RS256","kid":"`+kid+`"}`, claims, "RS256", rsaKey(0))
		if _, err := f.jws(t, tok, eventBody); !errors.Is(err, errUnknownKID) {
			t.Fatalf("kid %s: %v", kid, err)
		}
	}
	// A key without "alg" is used for the one algorithm its type allows.
	tok := rawJWS(t, `{"alg":"RS256","kid":"noalg"}`, claims, "RS256", rsaKey(0))
	if _, err := f.jws(t, tok, eventBody); err != nil {
		t.Fatalf("noalg: %v", err)
	}
}

// Every RSA key size the set keeps makes signatures ParseJWS takes, and
// no other size does.
func TestSignatureSizesMatchKeySizes(t *testing.T) {
	t.Parallel()
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"r1"}`)) + "." + enc.EncodeToString([]byte(`{}`)) + "."
	for bits, ok := range map[int]bool{minRSABits - 8: false, minRSABits: true, 4096: true, 4104: true, maxRSABits: true, maxRSABits + 8: false} {
		_, err := signature.ParseJWS(head + enc.EncodeToString(make([]byte, bits/8)))
		if (err == nil) != ok {
			t.Errorf("signature of a %d-bit key: %v", bits, err)
		}
	}
}
