package keyset

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestJWSClaimPolicies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, standardDoc(t), withAudience)
	now := f.now()
	for name, e := range map[string]func(map[string]any){
		"iss absent":               func(c map[string]any) { delete(c, "iss") },
		"aud array with ours":      func(c map[string]any) { c["aud"] = []string{"x", audience} },
		"expired within the skew":  func(c map[string]any) { c["exp"] = now.Add(-jwsSkew / 2).Unix() },
		"iat ahead within skew":    func(c map[string]any) { c["iat"] = now.Add(jwsSkew / 2).Unix() },
		"fractional dates":         func(c map[string]any) { c["exp"] = float64(now.Add(time.Minute).Unix()) + 0.5 },
		"lifetime at the cap":      func(c map[string]any) { c["exp"] = now.Add(jwsMaxLifetime).Unix() },
		"same user metadata":       func(c map[string]any) { c["user_metadata"] = nil },
		"extra claims are ignored": func(c map[string]any) { c["sub"] = "projects/1"; c["jti"] = "x" },
	} {
		t.Run(name, func(t *testing.T) {
			body := eventBody
			if name == "same user metadata" {
				body = strings.Replace(eventBody, `"version"`, `"user_metadata":null,"version"`, 1)
			}
			if _, err := f.jws(t, f.token(t, body, e), body); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("configured issuer", func(t *testing.T) {
		g := newFixture(t, standardDoc(t), func(c *Config) { c.Issuer = "https://issuer.example" })
		tok := g.token(t, eventBody, func(c map[string]any) { c["iss"] = "https://issuer.example" })
		if _, err := g.jws(t, tok, eventBody); err != nil {
			t.Fatal(err)
		}
		tok = g.token(t, eventBody, nil) // Gemini's issuer is not this receiver's
		if _, err := g.jws(t, tok, eventBody); !errors.Is(err, errTokenIssuer) {
			t.Fatalf("reason %v", err)
		}
	})
	t.Run("no audience configured", func(t *testing.T) {
		g := newFixture(t, standardDoc(t))
		tok := g.token(t, eventBody, func(c map[string]any) { c["aud"] = "https://anyone.example" })
		if _, err := g.jws(t, tok, eventBody); err != nil {
			t.Fatal(err)
		}
	})
}
