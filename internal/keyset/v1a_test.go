package keyset

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

func TestV1aEveryPublishedKeyVerifies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, standardDoc(t))
	for i := range 3 {
		for range 2 { // the second time, its key is tried first
			if err := f.v1a(t, edKey(i)); err != nil {
				t.Fatalf("key %d: %v", i, err)
			}
		}
	}
	f.wantHits(t, 1)
}

func TestV1aRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, standardDoc(t))
	body := []byte(eventBody)
	good := signature.SignV1a(edKey(0), testID, testTS, body)
	for name, c := range map[string]struct {
		id, ts, sig string
		body        []byte
	}{
		"key outside the set": {testID, testTS, signature.SignV1a(outsider(t), testID, testTS, body), body},
		"other id":            {"msg_2", testTS, good, body},
		"other timestamp":     {testID, "1800000001", good, body},
		"tampered body":       {testID, testTS, good, []byte(strings.Replace(eventBody, "abc", "abd", 1))},
		"short signature":     {testID, testTS, "v1a," + base64.StdEncoding.EncodeToString(make([]byte, 63)), body},
		"not base64":          {testID, testTS, "v1a," + strings.Repeat("!", 88), body},
		"signed as v1":        {testID, testTS, "v1," + strings.TrimPrefix(good, "v1a,"), body},
	} {
		t.Run(name, func(t *testing.T) {
			wantForged(t, name, f.set.VerifyV1a(t.Context(), entries(t, c.sig), c.id, c.ts, c.body))
		})
	}
	// Every failure came within the cooldown of the first fetch.
	f.wantHits(t, 1)
}

func TestV1aSignatureEncodingsAndRotationEntries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, standardDoc(t))
	body := []byte(eventBody)
	sig := ed25519.Sign(edKey(1), []byte(testID+"."+testTS+"."+eventBody))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if err := f.set.VerifyV1a(t.Context(), entries(t, "v1a,"+enc.EncodeToString(sig)), testID, testTS, body); err != nil {
			t.Fatal(err)
		}
	}
	list := entries(t, "v2,whatever", signature.SignV1a(outsider(t), testID, testTS, body), signature.SignV1a(edKey(2), testID, testTS, body))
	if err := f.set.VerifyV1a(t.Context(), list, testID, testTS, body); err != nil {
		t.Fatalf("rotation list: %v", err)
	}
}

// A key Google adds is picked up within the cooldown, even right after a
// storm of signatures that match nothing.
func TestV1aKeyAddedLaterAfterStorm(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		newKey := outsider(t)
		f := newFixture(t, standardDoc(t))
		if err := f.v1a(t, edKey(0)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(missCooldown + time.Second)
		body := []byte(eventBody)
		junk := make([]byte, ed25519.SignatureSize)
		for i := range 1000 {
			rand.Read(junk)
			err := f.set.VerifyV1a(t.Context(), entries(t, "v1a,"+base64.StdEncoding.EncodeToString(junk)), testID, testTS, body)
			wantForged(t, "storm "+strconv.Itoa(i), err)
		}
		f.wantHits(t, 2) // the first fetch and one refetch
		f.srv.serve(jwksDoc(t, signature.JWK{KID: "e1", Key: edKey(0).Public()}, signature.JWK{KID: "new", Key: newKey.Public()}))
		wantForged(t, "within the cooldown", f.v1a(t, newKey))
		time.Sleep(missCooldown)
		if err := f.v1a(t, newKey); err != nil {
			t.Fatalf("after the cooldown: %v", err)
		}
		f.wantHits(t, 3)
		wantForged(t, "a key dropped from the set", f.v1a(t, edKey(2)))
	})
}

// Finding 8 of issue 13: a forged v1a delivery costs at most maxV1aChecks
// Ed25519 verifications, however many entries it carries, against a full
// set of keys, and the refetch after the miss tries only keys it had not.
func TestV1aWorkCapped(t *testing.T) {
	t.Parallel()
	doc, keys := capSet(t, maxV1aKeys)
	body := []byte(eventBody)
	msg := []byte(testID + "." + testTS + "." + eventBody)

	// Only the first maxV1aEntries well-formed v1a entries are tried: a
	// good signature after them is not looked at.
	f := newFixture(t, doc)
	var list []string
	for range maxV1aEntries {
		list = append(list, "v1a,"+base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize)))
	}
	list = append(list, "v1a,!!", signature.SignV1a(keys[0], testID, testTS, body))
	wantForged(t, "a good signature after the tried entries", f.set.VerifyV1a(t.Context(), entries(t, list...), testID, testTS, body))

	// Each check takes one from the budget: the held set spends it all,
	// the refetched one holding the same keys spends none, and one with
	// new keys finds nothing left.
	held := keyStateOf(t, doc)
	forged := make([][ed25519.SignatureSize]byte, maxV1aEntries)
	budget := maxV1aChecks
	if held.matchV1a(forged, msg, nil, &budget) || budget != 0 {
		t.Fatalf("held set: budget left %d, want 0", budget)
	}
	if keyStateOf(t, doc).matchV1a(forged, msg, held, &budget) || budget != 0 {
		t.Fatalf("refetched set of the same keys: budget left %d, want 0", budget)
	}
	more, _ := capSet(t, 2)
	if keyStateOf(t, more).matchV1a(forged, msg, held, &budget) || budget != -1 {
		t.Fatalf("refetched set of new keys: budget left %d, want -1", budget)
	}
}

func keyStateOf(t testing.TB, doc []byte) *keyState {
	t.Helper()
	es, err := parseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := newKeyState(es, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// staticSet is a Set that has fetched the standard keys once, on a clock
// that never moves, so it never fetches again.
func staticSet(t testing.TB) *Set {
	t.Helper()
	epoch := time.Unix(1_800_000_000, 0)
	f := newFixture(t, standardDoc(t), withAudience, func(c *Config) { c.Now = func() time.Time { return epoch } })
	if err := f.v1a(t, edKey(0)); err != nil {
		t.Fatal(err)
	}
	return f.set
}

// FuzzVerifyV1a feeds arbitrary signature headers and bodies to the v1a
// path: it must never panic, and nothing but a real signature verifies.
func FuzzVerifyV1a(f *testing.F) {
	k := staticSet(f)
	good := signature.SignV1a(edKey(1), testID, testTS, []byte(eventBody))
	f.Add(good, eventBody)
	f.Add(good+" "+good, eventBody)
	f.Add("v1a,"+strings.Repeat("A", 86)+"==", "{}")
	f.Add("v1a,", "")
	f.Add("v1a,"+strings.Repeat("_", 86), eventBody)
	// Issue 13: well-formed signatures by keys outside the set, more
	// entries than are tried, each costing a full verification.
	forged := make([]string, maxV1aEntries+1)
	for i := range forged {
		forged[i] = signature.SignV1a(outsider(f), testID, testTS, []byte(eventBody))
	}
	f.Add(strings.Join(forged, " "), eventBody)
	f.Fuzz(func(t *testing.T, header, body string) {
		list, err := signature.ParseList(header)
		if err != nil {
			return
		}
		err = k.VerifyV1a(context.Background(), list, testID, testTS, []byte(body))
		if err == nil && body != eventBody {
			t.Fatalf("verified %q for %q", header, body)
		}
		// The set is fresh and its last fetch went well: a refusal is a
		// forgery, never "unavailable".
		if err != nil && (errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrNoMatch)) {
			t.Fatalf("refused as %v", err)
		}
	})
}
