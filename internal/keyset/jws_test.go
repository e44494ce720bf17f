package keyset

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

func TestJWSValid(t *testing.T) { // J-1
	t.Parallel()
	f := newFixture(t, standardDoc(t), withAudience)
	tok := f.token(t, eventBody, nil)
	replay, err := f.jws(t, tok, eventBody)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^jws:[0-9a-f]{32}$`).MatchString(replay) {
		t.Fatalf("replay key %q", replay)
	}
	if again, _ := f.jws(t, tok, eventBody); again != replay {
		t.Fatalf("the same token's replay keys differ: %q, %q", replay, again)
	}
	// EdDSA with an OKP key, and a body whose data members come in
	// another order and with escapes: equal as JSON, so bound.
	edTok, err := signature.SignJWS(edKey(1), "e2", f.claims(t, eventBody, nil))
	if err != nil {
		t.Fatal(err)
	}
	reordered := `{"data":{"output_file_uri":"gs://b/o.jsonl","id":"batches/\u0061bc"},"timestamp":"2026-01-02T03:04:05Z","version":"v1","type":"batch.succeeded"}`
	edReplay, err := f.jws(t, edTok, reordered)
	if err != nil {
		t.Fatalf("EdDSA, reordered body: %v", err)
	}
	if edReplay == replay {
		t.Fatal("two tokens share a replay key")
	}
	f.wantHits(t, 1)
}

func TestJWSRejects(t *testing.T) {
	t.Parallel()
	f := newFixture(t, standardDoc(t), withAudience)
	now := f.now()
	rk := rsaKey(0)
	valid := func(t *testing.T) []byte { return f.claims(t, eventBody, nil) }
	edit := func(e func(map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string { return f.token(t, eventBody, e) }
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK := jwksDoc(t, signature.JWK{KID: "r1", Key: &rk.PublicKey})
	// jku and x5u point here; the Set must never fetch from them, and its
	// only transport is f.srv, which counts every request.
	const attacker = "https://attacker.example/keys"
	cases := []struct {
		id   string
		name string
		tok  func(t *testing.T) string
		want error // the reason; every case is ErrNoMatch
	}{
		{"J-2", "alg none with kid", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"none","kid":"r1"}`, valid(t), "none", nil)
		}, errTokenMalformed},
		{"J-2", "alg none without kid", func(t *testing.T) string { return rawJWS(t, `{"alg":"none"}`, valid(t), "none", nil) }, errTokenMalformed},
		{"J-3", "HS256 keyed with the PEM public key", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"HS256","kid":"r1"}`, valid(t), "HS256", pubPEM)
		}, signature.ErrJWSAlg},
		{"J-3", "HS256 keyed with the DER public key", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"HS256","kid":"r1"}`, valid(t), "HS256", pubDER)
		}, signature.ErrJWSAlg},
		{"J-3", "HS256 keyed with the JWK", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"HS256","kid":"r1"}`, valid(t), "HS256", pubJWK)
		}, signature.ErrJWSAlg},
		{"J-4", "RS512", func(t *testing.T) string { return rawJWS(t, `{"alg":"RS512","kid":"r1"}`, valid(t), "RS256", rk) }, signature.ErrJWSAlg},
		{"J-4", "PS256", func(t *testing.T) string { return rawJWS(t, `{"alg":"PS256","kid":"r1"}`, valid(t), "RS256", rk) }, signature.ErrJWSAlg},
		{"J-4", "ES256", func(t *testing.T) string { return rawJWS(t, `{"alg":"ES256","kid":"r1"}`, valid(t), "RS256", rk) }, signature.ErrJWSAlg},
		{"J-4", "EdDSA naming an RSA kid", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"EdDSA","kid":"r1"}`, valid(t), "EdDSA", edKey(0))
		}, errKeyAlg},
		{"J-4", "RS256 naming an Ed25519 kid", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"e1"}`, valid(t), "RS256", rk)
		}, errKeyAlg},
		{"J-5", "wrong iss", edit(func(c map[string]any) { c["iss"] = "https://accounts.example" }), errTokenIssuer},
		{"J-5", "iss not a string", edit(func(c map[string]any) { c["iss"] = 7 }), errTokenIssuer},
		{"J-6", "wrong aud", edit(func(c map[string]any) { c["aud"] = "https://other.example" }), errTokenAudience},
		{"J-6", "aud missing", edit(func(c map[string]any) { delete(c, "aud") }), errTokenAudience},
		{"J-6", "aud array without ours", edit(func(c map[string]any) { c["aud"] = []string{"a", "b"} }), errTokenAudience},
		{"J-7", "expired beyond the skew", edit(func(c map[string]any) {
			c["iat"] = now.Add(-10 * time.Minute).Unix()
			c["exp"] = now.Add(-jwsSkew - 2*time.Second).Unix()
		}), errTokenExpired},
		{"J-8", "exp missing", edit(func(c map[string]any) { delete(c, "exp") }), errTokenNoExpiry},
		{"J-8", "exp a string", edit(func(c map[string]any) { c["exp"] = strconv.FormatInt(now.Add(time.Minute).Unix(), 10) }), errTokenClaims},
		{"J-9", "nbf in the future", edit(func(c map[string]any) { c["nbf"] = now.Add(jwsSkew + 2*time.Second).Unix() }), errTokenNotYet},
		{"J-9", "iat in the future", edit(func(c map[string]any) { c["iat"] = now.Add(jwsSkew + 2*time.Second).Unix() }), errTokenNotYet},
		{"J-10", "exp in ten years", edit(func(c map[string]any) { c["exp"] = now.AddDate(10, 0, 0).Unix() }), errTokenLifetime},
		{"J-10", "long lifetime without iat", edit(func(c map[string]any) {
			delete(c, "iat")
			c["exp"] = now.Add(3 * time.Hour).Unix()
		}), errTokenLifetime},
		{"J-13", "no kid", func(t *testing.T) string { return rawJWS(t, `{"alg":"RS256"}`, valid(t), "RS256", rk) }, signature.ErrJWSKID},
		{"J-14", "kid path", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"../../etc/passwd"}`, valid(t), "RS256", rk)
		}, errUnknownKID},
		{"J-14", "kid sql", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"' OR 1=1 --"}`, valid(t), "RS256", rk)
		}, signature.ErrJWSKID},
		{"J-14", "kid 10 KB", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"`+strings.Repeat("k", 10<<10)+`"}`, valid(t), "RS256", rk)
		}, errTokenMalformed},
		{"J-14", "kid NUL", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"r\u00001"}`, valid(t), "RS256", rk)
		}, signature.ErrJWSKID},
		{"J-15", "jku", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"r1","jku":"`+attacker+`"}`, valid(t), "RS256", rk)
		}, signature.ErrJWSForbidden},
		{"J-15", "x5u", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"r1","x5u":"`+attacker+`"}`, valid(t), "RS256", rk)
		}, signature.ErrJWSForbidden},
		{"J-15", "embedded jwk", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"r1","jwk":`+strings.TrimSuffix(strings.TrimPrefix(string(pubJWK), `{"keys":[`), `]}`)+`}`, valid(t), "RS256", rk)
		}, signature.ErrJWSForbidden},
		{"J-15", "x5c", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"r1","x5c":["`+base64.StdEncoding.EncodeToString(pubDER)+`"]}`, valid(t), "RS256", rk)
		}, signature.ErrJWSForbidden},
		{"J-19", "token of another job", func(t *testing.T) string {
			return f.token(t, strings.Replace(eventBody, "batches/abc", "batches/other", 1), nil)
		}, errTokenUnbound},
		{"J-19", "token of another event type", func(t *testing.T) string {
			return f.token(t, strings.Replace(eventBody, "batch.succeeded", "batch.failed", 1), nil)
		}, errTokenUnbound},
		{"J-19", "token without the event", func(t *testing.T) string { return f.token(t, `{"type":"batch.succeeded"}`, nil) }, errTokenUnbound},
		{"J-19", "token with other user metadata", edit(func(c map[string]any) { c["user_metadata"] = map[string]any{"tenant": "b"} }), errTokenUnbound},
		{"", "signed by a key outside the set", func(t *testing.T) string {
			tok, _ := signature.SignJWS(outsider(t), "e1", valid(t))
			return tok
		}, signature.ErrJWSSignature},
	}
	for _, tc := range cases {
		t.Run(tc.id+" "+tc.name, func(t *testing.T) {
			replay, err := f.jws(t, tc.tok(t), eventBody)
			wantForged(t, "token", err)
			if replay != "" || !errors.Is(err, tc.want) {
				t.Fatalf("%q, %v, want reason %v", replay, err, tc.want)
			}
		})
	}
	// One fetch for the first case that needed keys; the unknown kid and
	// every other failure came within its cooldown.
	f.wantHits(t, 1)
}

// J-11 and J-12: a thousand random kids cost one fetch per cooldown, and a
// key Google adds is accepted within a minute even right after them.
func TestJWSUnknownKidStormAndRotation(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, standardDoc(t), withAudience)
		// The kid is looked up before any signature check, so the storm's
		// tokens need no real signature.
		enc := base64.RawURLEncoding
		tail := "." + enc.EncodeToString(f.claims(t, eventBody, nil)) + "." + enc.EncodeToString(make([]byte, 256))
		storm := func() {
			for i := range 1000 {
				tok := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"bogus`+strconv.Itoa(i)+`"}`)) + tail
				_, err := f.jws(t, tok, eventBody)
				wantForged(t, "storm "+strconv.Itoa(i), err)
			}
		}
		storm()
		f.wantHits(t, 1)
		time.Sleep(missCooldown + time.Second)
		storm()
		f.wantHits(t, 2)
		// Google adds r2 right after the storm.
		f.srv.serve(jwksDoc(t,
			signature.JWK{KID: "r1", Key: &rsaKey(0).PublicKey},
			signature.JWK{KID: "r2", Key: &rsaKey(1).PublicKey}))
		appeared := time.Now()
		var accepted time.Time
		for range 60 {
			tok, err := signature.SignJWS(rsaKey(1), "r2", f.claims(t, eventBody, nil))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.jws(t, tok, eventBody); err == nil {
				accepted = time.Now()
				break
			}
			time.Sleep(time.Second)
		}
		if accepted.IsZero() || accepted.Sub(appeared) > time.Minute {
			t.Fatalf("new key not accepted within a minute (accepted after %v)", accepted.Sub(appeared))
		}
		f.wantHits(t, 3)
	})
}

// J-16 and J-17: other serializations and oversized tokens are refused
// early, without a panic and without a fetch.
func TestJWSShapes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, standardDoc(t))
	seg := strings.Repeat("A", 1<<20)
	for name, tok := range map[string]string{
		"JSON serialization without protected": `{"payload":"e30","signatures":[{"signature":"AAAA"}]}`,
		"flattened JSON":                       `{"payload":"e30","signature":"AAAA","header":{"alg":"RS256","kid":"r1"}}`,
		"Bearer and dots":                      "Bearer " + strings.Repeat(".", 1<<20),
		"three 1 MB segments":                  seg + "." + seg + "." + seg,
		"empty":                                "",
	} {
		if _, err := f.jws(t, tok, eventBody); !errors.Is(err, errTokenMalformed) || errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: %v", name, err)
		}
	}
	f.wantHits(t, 0)
}

// FuzzVerifyJWS feeds arbitrary tokens and bodies to the JWS path.
func FuzzVerifyJWS(f *testing.F) {
	k := staticSet(f)
	epoch := time.Unix(1_800_000_000, 0)
	claims, _ := signature.EventClaims([]byte(eventBody), signature.Registered{Audience: audience, IssuedAt: epoch, Expiry: epoch.Add(time.Minute)})
	good, _ := signature.SignJWS(rsaKey(0), "r1", claims)
	f.Add(good, eventBody)
	f.Add(good, `{"type":"batch.failed","data":{"id":"batches/abc"}}`)
	f.Add(strings.Replace(good, "r1", "r2", 1), eventBody)
	f.Add("eyJhbGciOiJub25lIn0.e30.", "{}")
	f.Add("a.b.c", "")
	// Issue 13: signed by a published key, but typed as another kind of
	// token.
	f.Add(rawJWS(f, `{"alg":"RS256","kid":"r1","typ":"at+jwt"}`, claims, "RS256", rsaKey(0)), eventBody)
	f.Fuzz(func(t *testing.T, tok, body string) {
		entries := []signature.Entry{{Scheme: signature.SchemeJWS, Value: tok}}
		_, err := k.VerifyJWS(context.Background(), entries, []byte(body))
		if err == nil && tok != good {
			t.Fatalf("verified %q", tok)
		}
		if err != nil && (errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrNoMatch)) {
			t.Fatalf("refused as %v", err)
		}
	})
}
