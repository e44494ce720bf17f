package gemhook

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/signature"
)

const ksAudience = "https://hooks.example/gemini"

func withAudience(c *ReceiverConfig) { c.Audience = ksAudience }

// jws signs claims for body with RSA key r1 through the shared signer.
func (f *ksFixture) jws(t testing.TB, body string, edit func(map[string]any)) string {
	t.Helper()
	tok, err := signature.SignJWS(ksRSA(0), "r1", f.claims(t, body, func(c map[string]any) {
		c["aud"] = ksAudience
		if edit != nil {
			edit(c)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// verifyJWS goes through Receiver.Verify and, for the reason, through the
// key set directly (Verify reports only ErrNoMatchingSignature).
func (f *ksFixture) verifyJWS(t testing.TB, tok, body string) (*Event, error, error) {
	t.Helper()
	ev, err := f.verify(f.headers("msg_"+strconv.Itoa(int(f.clk.Now().UnixNano()%1e6)), tok), []byte(body))
	why := f.k.verifyJWS(context.Background(), []signature.Entry{{Scheme: signature.SchemeJWS, Value: tok}}, []byte(body))
	return ev, err, why
}

func TestJWSValid(t *testing.T) { // J-1
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), withAudience)
	defer f.close()
	tok := f.jws(t, ksBody, nil)
	ev, err, _ := f.verifyJWS(t, tok, ksBody)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Scheme != "jws" || ev.Type != "batch.succeeded" || ev.Resource != "batches/abc" {
		t.Fatalf("event %+v", ev)
	}
	if rec := f.serveHTTP(f.headers("msg_http", tok), []byte(ksBody)); rec.Code/100 != 2 {
		t.Fatalf("ServeHTTP: %d", rec.Code)
	}
	// EdDSA with an OKP key, and a body whose data members come in
	// another order and with escapes: equal as JSON, so bound.
	claims := f.claims(t, ksBody, func(c map[string]any) { c["aud"] = ksAudience })
	edTok, err := signature.SignJWS(ksEd(1), "e2", claims)
	if err != nil {
		t.Fatal(err)
	}
	reordered := `{"data":{"output_file_uri":"gs://b/o.jsonl","id":"batches/\u0061bc"},"timestamp":"2026-01-02T03:04:05Z","version":"v1","type":"batch.succeeded"}`
	if _, err, why := f.verifyJWS(t, edTok, reordered); err != nil {
		t.Fatalf("EdDSA, reordered body: %v (%v)", err, why)
	}
	if n := f.srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestJWSRejects(t *testing.T) {
	defer leaktest.Check(t)()
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the attacker's server was contacted: %s", r.URL)
	}))
	defer attacker.Close()
	f := newKS(t, ksStandard(t), withAudience)
	defer f.close()
	now := f.clk.Now()
	rk := ksRSA(0)
	valid := func(t *testing.T) []byte {
		return f.claims(t, ksBody, func(c map[string]any) { c["aud"] = ksAudience })
	}
	edit := func(e func(map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string { return f.jws(t, ksBody, e) }
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pubJWK := ksDoc(t, signature.JWK{KID: "r1", Key: &rk.PublicKey})
	cases := []struct {
		id   string
		name string
		tok  func(t *testing.T) string
		want error // the reason; every case is ErrNoMatchingSignature
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
			return rawJWS(t, `{"alg":"EdDSA","kid":"r1"}`, valid(t), "EdDSA", ksEd(0))
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
			return rawJWS(t, `{"alg":"RS256","kid":"r1","jku":"`+attacker.URL+`"}`, valid(t), "RS256", rk)
		}, signature.ErrJWSForbidden},
		{"J-15", "x5u", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"r1","x5u":"`+attacker.URL+`"}`, valid(t), "RS256", rk)
		}, signature.ErrJWSForbidden},
		{"J-15", "embedded jwk", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"r1","jwk":`+strings.TrimSuffix(strings.TrimPrefix(string(pubJWK), `{"keys":[`), `]}`)+`}`, valid(t), "RS256", rk)
		}, signature.ErrJWSForbidden},
		{"J-15", "x5c", func(t *testing.T) string {
			return rawJWS(t, `{"alg":"RS256","kid":"r1","x5c":["`+base64.StdEncoding.EncodeToString(pubDER)+`"]}`, valid(t), "RS256", rk)
		}, signature.ErrJWSForbidden},
		{"J-19", "token of another job", func(t *testing.T) string {
			return f.jws(t, strings.Replace(ksBody, "batches/abc", "batches/other", 1), nil)
		}, errTokenUnbound},
		{"J-19", "token of another event type", func(t *testing.T) string {
			return f.jws(t, strings.Replace(ksBody, "batch.succeeded", "batch.failed", 1), nil)
		}, errTokenUnbound},
		{"J-19", "token without the event", func(t *testing.T) string { return f.jws(t, `{"type":"batch.succeeded"}`, nil) }, errTokenUnbound},
		{"J-19", "token with other user metadata", edit(func(c map[string]any) { c["user_metadata"] = map[string]any{"tenant": "b"} }), errTokenUnbound},
		{"", "signed by a key outside the set", func(t *testing.T) string {
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			tok, _ := signature.SignJWS(other, "e1", valid(t))
			return tok
		}, signature.ErrJWSSignature},
	}
	for _, tc := range cases {
		t.Run(tc.id+" "+tc.name, func(t *testing.T) {
			tok := tc.tok(t)
			ev, err, why := f.verifyJWS(t, tok, ksBody)
			if ev != nil || !errors.Is(err, ErrNoMatchingSignature) || errors.Is(err, ErrKeysUnavailable) {
				t.Fatalf("Verify: %v, %v", ev, err)
			}
			if !errors.Is(why, ErrNoMatchingSignature) || !errors.Is(why, tc.want) {
				t.Fatalf("reason %v, want %v", why, tc.want)
			}
		})
	}
	if rec := f.serveHTTP(f.headers("msg_x", cases[0].tok(t)), []byte(ksBody)); rec.Code != http.StatusUnauthorized {
		t.Fatalf("ServeHTTP: %d, want 401", rec.Code)
	}
	// One fetch for the first case that needed keys; the unknown kid and
	// every other failure came within its cooldown.
	if n := f.srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestJWSClaimPolicies(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), withAudience)
	defer f.close()
	now := f.clk.Now()
	for name, e := range map[string]func(map[string]any){
		"iss absent":               func(c map[string]any) { delete(c, "iss") },
		"aud array with ours":      func(c map[string]any) { c["aud"] = []string{"x", ksAudience} },
		"expired within the skew":  func(c map[string]any) { c["exp"] = now.Add(-jwsSkew / 2).Unix() },
		"iat ahead within skew":    func(c map[string]any) { c["iat"] = now.Add(jwsSkew / 2).Unix() },
		"fractional dates":         func(c map[string]any) { c["exp"] = float64(now.Add(time.Minute).Unix()) + 0.5 },
		"lifetime at the cap":      func(c map[string]any) { c["exp"] = now.Add(jwsMaxLifetime).Unix() },
		"same user metadata":       func(c map[string]any) { c["user_metadata"] = nil },
		"extra claims are ignored": func(c map[string]any) { c["sub"] = "projects/1"; c["jti"] = "x" },
	} {
		t.Run(name, func(t *testing.T) {
			body := ksBody
			if name == "same user metadata" {
				body = strings.Replace(ksBody, `"version"`, `"user_metadata":null,"version"`, 1)
			}
			if _, err, why := f.verifyJWS(t, f.jws(t, body, e), body); err != nil {
				t.Fatalf("%v (%v)", err, why)
			}
		})
	}
	t.Run("configured issuer", func(t *testing.T) {
		g := newKS(t, ksStandard(t), func(c *ReceiverConfig) { c.Issuer = "https://issuer.example" })
		defer g.close()
		tok := g.jws(t, ksBody, func(c map[string]any) { c["iss"] = "https://issuer.example" })
		if _, err, why := g.verifyJWS(t, tok, ksBody); err != nil {
			t.Fatalf("%v (%v)", err, why)
		}
		tok = g.jws(t, ksBody, nil) // Gemini's issuer is not this receiver's
		if _, _, why := g.verifyJWS(t, tok, ksBody); !errors.Is(why, errTokenIssuer) {
			t.Fatalf("reason %v", why)
		}
	})
}

// J-11 and J-12: a thousand random kids cost one fetch per cooldown, and a
// key Google adds is accepted within a minute even right after them.
func TestJWSUnknownKidStormAndRotation(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), withAudience)
	defer f.close()
	claims := f.claims(t, ksBody, func(c map[string]any) { c["aud"] = ksAudience })
	// The kid is looked up before any signature check, so the storm's
	// tokens need no real signature.
	enc := base64.RawURLEncoding
	tail := "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(make([]byte, 256))
	storm := func() {
		for i := range 1000 {
			tok := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"bogus`+strconv.Itoa(i)+`"}`)) + tail
			if _, err := f.verify(f.headers("msg_s"+strconv.Itoa(i), tok), []byte(ksBody)); !errors.Is(err, ErrNoMatchingSignature) {
				t.Fatalf("storm %d: %v", i, err)
			}
		}
	}
	storm()
	if n := f.srv.hits.Load(); n != 1 {
		t.Fatalf("%d fetches after the first storm, want 1", n)
	}
	f.clk.Advance(jwksMissCooldown + time.Second)
	storm()
	if n := f.srv.hits.Load(); n != 2 {
		t.Fatalf("%d fetches after the second storm, want 2", n)
	}
	// Google adds r2 right after the storm.
	f.srv.serve(ksDoc(t,
		signature.JWK{KID: "r1", Key: &ksRSA(0).PublicKey},
		signature.JWK{KID: "r2", Key: &ksRSA(1).PublicKey}))
	appeared := f.clk.Now()
	sign2 := func() string {
		tok, err := signature.SignJWS(ksRSA(1), "r2", f.claims(t, ksBody, func(c map[string]any) { c["aud"] = ksAudience }))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	var accepted time.Time
	for range 60 {
		if _, err, _ := f.verifyJWS(t, sign2(), ksBody); err == nil {
			accepted = f.clk.Now()
			break
		}
		f.clk.Advance(time.Second)
	}
	if accepted.IsZero() || accepted.Sub(appeared) > time.Minute {
		t.Fatalf("new key not accepted within a minute (accepted at %v)", accepted.Sub(appeared))
	}
	if n := f.srv.hits.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}

// J-16 and J-17: other serializations and oversized tokens are refused
// early, without a panic and without a fetch.
func TestJWSShapes(t *testing.T) {
	defer leaktest.Check(t)()
	f := newKS(t, ksStandard(t), nil)
	defer f.close()
	seg := strings.Repeat("A", 1<<20)
	for name, sig := range map[string]string{
		"JSON serialization without protected": `{"payload":"e30","signatures":[{"signature":"AAAA"}]}`,
		"flattened JSON":                       `{"payload":"e30","signature":"AAAA","header":{"alg":"RS256","kid":"r1"}}`,
		"Bearer and dots":                      "Bearer " + strings.Repeat(".", 1<<20),
		"three 1 MB segments":                  seg + "." + seg + "." + seg,
		"just over the list cap":               strings.Repeat("a", signature.MaxListLen-3) + ".b.c",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.verify(f.headers("msg_1", sig), []byte(ksBody))
			if err == nil {
				t.Fatal("accepted")
			}
			rec := f.serveHTTP(f.headers("msg_1", sig), []byte(ksBody))
			if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d", rec.Code)
			}
		})
	}
	if n := f.srv.hits.Load(); n != 0 {
		t.Fatalf("%d fetches for tokens that could not verify", n)
	}
}

// J-18: a replayed delivery is acknowledged but not handed on twice.
func TestJWSReplayIsIdempotent(t *testing.T) {
	defer leaktest.Check(t)()
	var events atomic.Int32
	f := newKS(t, ksStandard(t), func(c *ReceiverConfig) {
		withAudience(c)
		c.OnEvent = func(context.Context, *Event) { events.Add(1) }
	})
	defer f.close()
	h := f.headers("msg_replay", f.jws(t, ksBody, nil))
	for i := range 3 {
		if rec := f.serveHTTP(h, []byte(ksBody)); rec.Code/100 != 2 {
			t.Fatalf("delivery %d: %d", i, rec.Code)
		}
	}
	if n := events.Load(); n != 1 {
		t.Fatalf("OnEvent ran %d times, want 1", n)
	}
}

// J-20: keys that are not for signing, or of another type, never verify.
func TestJWSUnfitKeys(t *testing.T) {
	defer leaktest.Check(t)()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(ksDoc(t, signature.JWK{KID: "r1", Key: &ksRSA(0).PublicKey}), &set)
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
	f := newKS(t, doc, withAudience)
	defer f.close()
	claims := f.claims(t, ksBody, func(c map[string]any) { c["aud"] = ksAudience })
	for _, kid := range []string{"enc", "ops", "rs512", "ec", "oct", "x25519"} {
		tok := rawJWS(t, `{"alg":"RS256","kid":"`+kid+`"}`, claims, "RS256", ksRSA(0))
		if _, err, why := f.verifyJWS(t, tok, ksBody); err == nil || !errors.Is(why, errUnknownKID) {
			t.Fatalf("kid %s: %v (%v)", kid, err, why)
		}
	}
	// A key without "alg" is used for the one algorithm its type allows.
	tok := rawJWS(t, `{"alg":"RS256","kid":"noalg"}`, claims, "RS256", ksRSA(0))
	if _, err, why := f.verifyJWS(t, tok, ksBody); err != nil {
		t.Fatalf("noalg: %v (%v)", err, why)
	}
}

// Every RSA key size the key set keeps makes signatures ParseJWS takes,
// and no other size does.
func TestJWSSignatureSizesMatchKeySizes(t *testing.T) {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"r1"}`)) + "." + enc.EncodeToString([]byte(`{}`)) + "."
	for bits, ok := range map[int]bool{minRSABits - 8: false, minRSABits: true, 4096: true, 4104: true, maxRSABits: true, maxRSABits + 8: false} {
		_, err := signature.ParseJWS(head + enc.EncodeToString(make([]byte, bits/8)))
		if (err == nil) != ok {
			t.Errorf("signature of a %d-bit key: %v", bits, err)
		}
	}
}

// J-18: a JWS covers neither webhook-id nor webhook-timestamp, so a captured
// token re-sent under a fresh id (and a fresh timestamp) must not be a new
// event: it is acknowledged and reaches neither dispatch nor OnEvent again.
func TestJWSReplayUnderFreshID(t *testing.T) {
	defer leaktest.Check(t)()
	var events atomic.Int32
	f := newKS(t, ksStandard(t), func(c *ReceiverConfig) {
		withAudience(c)
		c.OnEvent = func(context.Context, *Event) { events.Add(1) }
	})
	defer f.close()
	var dispatched atomic.Int32
	f.r.deliver = func(ctx context.Context, ev *Event) error {
		dispatched.Add(1)
		return f.r.dispatch(ctx, ev)
	}
	tok := f.jws(t, ksBody, nil)
	if rec := f.serveHTTP(f.headers("msg_first", tok), []byte(ksBody)); rec.Code != http.StatusNoContent {
		t.Fatalf("first delivery: %d", rec.Code)
	}
	f.clk.Advance(30 * time.Second)
	if rec := f.serveHTTP(f.headers("msg_replayed", tok), []byte(ksBody)); rec.Code != http.StatusNoContent {
		t.Fatalf("replay: %d", rec.Code)
	}
	if d, e := dispatched.Load(), events.Load(); d != 1 || e != 1 {
		t.Fatalf("dispatched %d and OnEvent %d times, want once each", d, e)
	}
	// A new token for the same event is a new delivery as far as the
	// receiver knows (the hub's tombstones keep the job settled once).
	if rec := f.serveHTTP(f.headers("msg_new", f.jws(t, ksBody, nil)), []byte(ksBody)); rec.Code != http.StatusNoContent {
		t.Fatalf("new token: %d", rec.Code)
	}
	if e := events.Load(); e != 2 {
		t.Fatalf("OnEvent %d times after a fresh token, want 2", e)
	}
}
