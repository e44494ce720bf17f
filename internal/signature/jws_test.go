package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

func testRSA(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func testEd(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const body = `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-02T03:04:05Z","data":{"id":"batches/x"}}`

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// forge builds a token from a raw header and payload with a signature of
// sigLen zero bytes.
func forge(hdr, payload string, sigLen int) string {
	return b64(hdr) + "." + b64(payload) + "." + base64.RawURLEncoding.EncodeToString(make([]byte, sigLen))
}

func TestSignAndVerifyJWS(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	claims, err := EventClaims([]byte(body), Registered{Issuer: "https://i.example", Audience: "aud", IssuedAt: now, Expiry: now.Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(claims, &m); err != nil {
		t.Fatal(err)
	}
	if m["iss"] != "https://i.example" || m["aud"] != "aud" || m["iat"] != float64(now.Unix()) || m["exp"] != float64(now.Unix()+300) || m["type"] != "batch.succeeded" {
		t.Fatalf("claims = %s", claims)
	}
	rk, ek := testRSA(t), testEd(t)
	for _, tc := range []struct {
		name  string
		key   crypto.Signer
		alg   string
		wrong any
	}{
		{"RS256", rk, AlgRS256, ek.Public()},
		{"EdDSA", ek, AlgEdDSA, &rk.PublicKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := SignJWS(tc.key, "k1", claims)
			if err != nil {
				t.Fatal(err)
			}
			j, err := ParseJWS(tok)
			if err != nil {
				t.Fatal(err)
			}
			if j.Alg != tc.alg || j.KID != "k1" || j.Typ != "JWT" || string(j.Payload) != string(claims) {
				t.Fatalf("parsed %+v", j)
			}
			if err := j.Verify(tc.key.Public()); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := j.Verify(tc.wrong); !errors.Is(err, ErrJWSSignature) {
				t.Fatalf("Verify with the other key type: %v", err)
			}
			// One flipped payload bit must break it.
			p := strings.Split(tok, ".")
			raw, _ := base64.RawURLEncoding.DecodeString(p[1])
			raw[len(raw)-2] ^= 1
			bad, err := ParseJWS(p[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + p[2])
			if err != nil {
				t.Fatal(err)
			}
			if err := bad.Verify(tc.key.Public()); !errors.Is(err, ErrJWSSignature) {
				t.Fatalf("tampered token verified: %v", err)
			}
		})
	}
}

func TestParseJWSRejects(t *testing.T) {
	okHdr := `{"alg":"RS256","kid":"k1"}`
	long := strings.Repeat("a", MaxJWSLen)
	cases := []struct {
		name string
		tok  string
		want error
	}{
		{"empty", "", ErrJWSSize},
		{"too long", long + ".a.a", ErrJWSSize},
		{"two segments", b64(okHdr) + "." + b64("{}"), ErrJWSShape},
		{"four segments", forge(okHdr, "{}", 256) + ".x", ErrJWSShape},
		{"empty signature (alg none shape)", b64(`{"alg":"none","kid":"k1"}`) + "." + b64("{}") + ".", ErrJWSShape},
		{"empty header", "." + b64("{}") + ".AAAA", ErrJWSShape},
		{"empty payload", b64(okHdr) + "..AAAA", ErrJWSShape},
		{"padding", b64(okHdr) + "=." + b64("{}") + ".AAAA", ErrJWSShape},
		{"std alphabet", b64(okHdr) + "." + b64("{}") + ".AA+/", ErrJWSShape},
		{"space", b64(okHdr) + " ." + b64("{}") + ".AAAA", ErrJWSShape},
		{"json serialization", `{"payload":"e30","signatures":[{"signature":"AAAA"}]}`, ErrJWSShape},
		{"header not json", b64("not json") + "." + b64("{}") + ".AAAA", ErrJWSHeader},
		{"header array", b64(`["alg"]`) + "." + b64("{}") + ".AAAA", ErrJWSHeader},
		{"header trailing data", b64(okHdr+`{}`) + "." + b64("{}") + ".AAAA", ErrJWSHeader},
		{"header repeated alg", forge(`{"alg":"RS256","kid":"k1","alg":"none"}`, "{}", 256), ErrJWSHeader},
		{"header too long", forge(`{"alg":"RS256","kid":"k1","x":"`+strings.Repeat("a", MaxJWSHeaderLen)+`"}`, "{}", 256), ErrJWSHeader},
		{"alg none", forge(`{"alg":"none","kid":"k1"}`, "{}", 256), ErrJWSAlg},
		{"alg HS256", forge(`{"alg":"HS256","kid":"k1"}`, "{}", 32), ErrJWSAlg},
		{"alg RS512", forge(`{"alg":"RS512","kid":"k1"}`, "{}", 256), ErrJWSAlg},
		{"alg PS256", forge(`{"alg":"PS256","kid":"k1"}`, "{}", 256), ErrJWSAlg},
		{"alg ES256", forge(`{"alg":"ES256","kid":"k1"}`, "{}", 64), ErrJWSAlg},
		{"alg lower case", forge(`{"alg":"rs256","kid":"k1"}`, "{}", 256), ErrJWSAlg},
		{"alg missing", forge(`{"kid":"k1"}`, "{}", 256), ErrJWSAlg},
		{"alg number", forge(`{"alg":256,"kid":"k1"}`, "{}", 256), ErrJWSAlg},
		{"kid missing", forge(`{"alg":"RS256"}`, "{}", 256), ErrJWSKID},
		{"kid empty", forge(`{"alg":"RS256","kid":""}`, "{}", 256), ErrJWSKID},
		{"kid path", forge(`{"alg":"RS256","kid":"../../etc/passwd"}`, "{}", 256), nil},
		{"kid sql", forge(`{"alg":"RS256","kid":"' OR 1=1 --"}`, "{}", 256), ErrJWSKID},
		{"kid NUL", forge(`{"alg":"RS256","kid":"k\u00001"}`, "{}", 256), ErrJWSKID},
		{"kid long", forge(`{"alg":"RS256","kid":"`+strings.Repeat("k", MaxKIDLen+1)+`"}`, "{}", 256), ErrJWSKID},
		{"kid number", forge(`{"alg":"RS256","kid":1}`, "{}", 256), ErrJWSKID},
		{"jku", forge(`{"alg":"RS256","kid":"k1","jku":"https://attacker.example/jwks"}`, "{}", 256), ErrJWSForbidden},
		{"x5u", forge(`{"alg":"RS256","kid":"k1","x5u":"https://attacker.example/c"}`, "{}", 256), ErrJWSForbidden},
		{"jwk", forge(`{"alg":"RS256","kid":"k1","jwk":{"kty":"RSA"}}`, "{}", 256), ErrJWSForbidden},
		{"x5c", forge(`{"alg":"RS256","kid":"k1","x5c":["MIIB"]}`, "{}", 256), ErrJWSForbidden},
		{"crit", forge(`{"alg":"RS256","kid":"k1","crit":["exp"]}`, "{}", 256), ErrJWSForbidden},
		{"b64", forge(`{"alg":"RS256","kid":"k1","b64":false}`, "{}", 256), ErrJWSForbidden},
		{"typ number", forge(`{"alg":"RS256","kid":"k1","typ":1}`, "{}", 256), ErrJWSHeader},
		// Issue 13: a token minted for another purpose (an access token,
		// a logout or security event token) is not a webhook signature.
		{"typ at+jwt", forge(`{"alg":"RS256","kid":"k1","typ":"at+jwt"}`, "{}", 256), ErrJWSType},
		{"typ logout+jwt", forge(`{"alg":"RS256","kid":"k1","typ":"logout+jwt"}`, "{}", 256), ErrJWSType},
		{"typ JOSE+JSON", forge(`{"alg":"RS256","kid":"k1","typ":"JOSE+JSON"}`, "{}", 256), ErrJWSType},
		{"typ empty", forge(`{"alg":"RS256","kid":"k1","typ":""}`, "{}", 256), ErrJWSType},
		{"typ jwt lower case", forge(`{"alg":"RS256","kid":"k1","typ":"jwt"}`, "{}", 256), nil},
		{"typ application/jwt", forge(`{"alg":"RS256","kid":"k1","typ":"application/JWT"}`, "{}", 256), nil},
		{"typ JOSE", forge(`{"alg":"RS256","kid":"k1","typ":"JOSE"}`, "{}", 256), nil},
		{"RS256 short signature", forge(okHdr, "{}", 128), ErrJWSSignature},
		{"RS256 huge signature", forge(okHdr, "{}", 8192/8+1), ErrJWSSignature},
		{"EdDSA wrong signature size", forge(`{"alg":"EdDSA","kid":"k1"}`, "{}", 65), ErrJWSSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJWS(tc.tok)
			if tc.want == nil {
				// "../../etc/passwd" is made of allowed characters: it
				// is only ever a map key, so it parses (and finds no key).
				// typ is compared without case, as RFC 7515 says.
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseJWSAcceptsEd25519Alg(t *testing.T) {
	j, err := ParseJWS(forge(`{"alg":"Ed25519","kid":"k1"}`, "{}", 64))
	if err != nil || j.Alg != AlgEdDSA {
		t.Fatalf("%+v, %v", j, err)
	}
}

func TestEventClaimsRefusesCollisions(t *testing.T) {
	if _, err := EventClaims([]byte(`{"type":"x","exp":1}`), Registered{Expiry: time.Unix(2, 0)}); err == nil {
		t.Fatal("accepted a body with its own exp")
	}
	if _, err := EventClaims([]byte(`[1]`), Registered{}); err == nil {
		t.Fatal("accepted a body that is not an object")
	}
}

func TestSignJWSRefuses(t *testing.T) {
	if _, err := SignJWS(testEd(t), "bad kid", []byte("{}")); !errors.Is(err, ErrJWSKID) {
		t.Fatalf("err = %v", err)
	}
}

func TestMarshalJWKS(t *testing.T) {
	rk, ek := testRSA(t), testEd(t)
	doc, err := MarshalJWKS(JWK{KID: "r", Key: &rk.PublicKey}, JWK{KID: "e", Key: ek.Public()})
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("%s %v", doc, err)
	}
	if set.Keys[0]["kty"] != "RSA" || set.Keys[0]["e"] != "AQAB" || set.Keys[1]["crv"] != "Ed25519" || set.Keys[1]["use"] != "sig" {
		t.Fatalf("%s", doc)
	}
	x, _ := base64.RawURLEncoding.DecodeString(set.Keys[1]["x"])
	if string(x) != string(ek.Public().(ed25519.PublicKey)) {
		t.Fatal("x is not the public key")
	}
	if _, err := MarshalJWKS(JWK{Key: "nope"}); err == nil {
		t.Fatal("published a string as a key")
	}
}
