package gemhook

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// ksStatic is a key set that already holds the standard keys and has just
// fetched them, so nothing it does reaches the network (its URL is a closed
// loopback port in any case).
func ksStatic(t testing.TB) *keySet {
	t.Helper()
	now := func() time.Time { return ksEpoch }
	k, err := newKeySet(ReceiverConfig{JWKSURL: "http://127.0.0.1:1/jwks.json", Audience: ksAudience}, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := parseJWKS(ksStandard(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newKeyState(entries, ksEpoch, ksEpoch.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	k.state.Store(s)
	k.lastAttempt = ksEpoch
	return k
}

var ksTS = strconv.FormatInt(ksEpoch.Unix(), 10)

// FuzzVerifyV1a feeds arbitrary signature headers and bodies to the v1a
// path: it must never panic, and nothing but a real signature verifies.
func FuzzVerifyV1a(f *testing.F) {
	k := ksStatic(f)
	defer k.close()
	good := signature.SignV1a(ksEd(1), "msg_1", ksTS, []byte(ksBody))
	f.Add(good, ksBody)
	f.Add(good+" "+good, ksBody)
	f.Add("v1a,"+strings.Repeat("A", 86)+"==", "{}")
	f.Add("v1a,", "")
	f.Add("v1a,"+strings.Repeat("_", 86), ksBody)
	// Issue 13: well-formed signatures by keys outside the set, more
	// entries than are tried, each costing a full verification.
	forged := make([]string, maxV1aEntries+1)
	for i := range forged {
		_, outsider, _ := ed25519.GenerateKey(rand.Reader)
		forged[i] = signature.SignV1a(outsider, "msg_1", ksTS, []byte(ksBody))
	}
	f.Add(strings.Join(forged, " "), ksBody)
	f.Fuzz(func(t *testing.T, header, body string) {
		entries, err := signature.ParseList(header)
		if err != nil {
			return
		}
		err = k.verifyV1a(context.Background(), entries, "msg_1", ksTS, []byte(body))
		if err == nil && body != ksBody {
			t.Fatalf("verified %q for %q", header, body)
		}
		// The set is fresh and its last fetch went well: a refusal is
		// a forgery, never "keys unavailable".
		if err != nil && (errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, ErrNoMatchingSignature)) {
			t.Fatalf("refused as %v", err)
		}
	})
}

// FuzzVerifyJWS feeds arbitrary tokens and bodies to the JWS path.
func FuzzVerifyJWS(f *testing.F) {
	k := ksStatic(f)
	defer k.close()
	claims, _ := signature.EventClaims([]byte(ksBody), signature.Registered{Audience: ksAudience, IssuedAt: ksEpoch, Expiry: ksEpoch.Add(time.Minute)})
	good, _ := signature.SignJWS(ksRSA(0), "r1", claims)
	f.Add(good, ksBody)
	f.Add(good, `{"type":"batch.failed","data":{"id":"batches/abc"}}`)
	f.Add(strings.Replace(good, "r1", "r2", 1), ksBody)
	f.Add("eyJhbGciOiJub25lIn0.e30.", "{}")
	f.Add("a.b.c", "")
	// Issue 13: signed by a published key, but typed as another kind of
	// token.
	f.Add(rawJWS(f, `{"alg":"RS256","kid":"r1","typ":"at+jwt"}`, claims, "RS256", ksRSA(0)), ksBody)
	f.Fuzz(func(t *testing.T, tok, body string) {
		entries := []signature.Entry{{Scheme: signature.SchemeJWS, Value: tok}}
		err := k.verifyJWS(context.Background(), entries, []byte(body))
		if err == nil && tok != good {
			t.Fatalf("verified %q", tok)
		}
		if err != nil && (errors.Is(err, ErrKeysUnavailable) || !errors.Is(err, ErrNoMatchingSignature)) {
			t.Fatalf("refused as %v", err)
		}
	})
}
