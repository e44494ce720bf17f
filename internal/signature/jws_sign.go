package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Registered are the JWT claims a JWS delivery carries beside the event.
// Zero values are left out of the token.
type Registered struct {
	Issuer   string    // "iss": the origin that publishes the keys
	Audience string    // "aud": what the receiver is configured to expect
	IssuedAt time.Time // "iat"
	Expiry   time.Time // "exp": required by gemhook's receiver
	Subject  string    // "sub"
}

// EventClaims builds the claim set of a JWS delivery: the members of the
// event envelope exactly as in body (type, version, timestamp, data,
// user_metadata, ...) plus the registered claims. This is the shape of
// Google's samples, which read the event from the token, and it is what
// binds a token to one delivery: the receiver requires the token's type and
// data (and any other envelope member the token carries) to equal the
// body's. body must be a JSON object that does not itself use the
// registered claim names.
func EventClaims(body []byte, reg Registered) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, errors.New("jws: event body is not a JSON object")
	}
	set := func(name string, v any) error {
		if _, dup := m[name]; dup {
			return fmt.Errorf("jws: event body already has a %q member", name)
		}
		raw, err := json.Marshal(v)
		m[name] = raw
		return err
	}
	var err error
	if reg.Issuer != "" {
		err = errors.Join(err, set("iss", reg.Issuer))
	}
	if reg.Audience != "" {
		err = errors.Join(err, set("aud", reg.Audience))
	}
	if reg.Subject != "" {
		err = errors.Join(err, set("sub", reg.Subject))
	}
	if !reg.IssuedAt.IsZero() {
		err = errors.Join(err, set("iat", reg.IssuedAt.Unix()))
	}
	if !reg.Expiry.IsZero() {
		err = errors.Join(err, set("exp", reg.Expiry.Unix()))
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// SignJWS returns a compact JWS over claims with the header
// {"alg","kid","typ":"JWT"}. key chooses the algorithm: *rsa.PrivateKey
// signs RS256 and ed25519.PrivateKey signs EdDSA. claims is used as given
// (see EventClaims for what gemhook's receiver expects).
func SignJWS(key crypto.Signer, kid string, claims []byte) (string, error) {
	var alg string
	switch k := key.(type) {
	case *rsa.PrivateKey:
		alg = AlgRS256
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return "", errors.New("jws: bad Ed25519 private key")
		}
		alg = AlgEdDSA
	default:
		return "", fmt.Errorf("jws: cannot sign with a %T", key)
	}
	if !ValidKID(kid) {
		return "", ErrJWSKID
	}
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		KID string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, "JWT"})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hdr) + "." + enc.EncodeToString(claims)
	var sig []byte
	if alg == AlgRS256 {
		sum := sha256.Sum256([]byte(input))
		sig, err = key.Sign(rand.Reader, sum[:], crypto.SHA256)
	} else {
		sig, err = key.Sign(rand.Reader, []byte(input), crypto.Hash(0))
	}
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// JWK is one public key of a key set, as gemhook's emulator publishes them.
type JWK struct {
	KID string
	Key crypto.PublicKey // *rsa.PublicKey or ed25519.PublicKey
}

// MarshalJWKS returns the JSON Web Key Set document for keys: RSA keys as
// {"kty":"RSA","alg":"RS256","n","e"} and Ed25519 keys as
// {"kty":"OKP","crv":"Ed25519","alg":"EdDSA","x"}, each with "use":"sig"
// and its "kid" when set.
func MarshalJWKS(keys ...JWK) ([]byte, error) {
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv,omitempty"`
		Alg string `json:"alg"`
		Use string `json:"use"`
		KID string `json:"kid,omitempty"`
		N   string `json:"n,omitempty"`
		E   string `json:"e,omitempty"`
		X   string `json:"x,omitempty"`
	}
	enc := base64.RawURLEncoding
	out := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			out.Keys = append(out.Keys, jwk{Kty: "RSA", Alg: AlgRS256, Use: "sig", KID: k.KID,
				N: enc.EncodeToString(pub.N.Bytes()),
				E: enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
		case ed25519.PublicKey:
			out.Keys = append(out.Keys, jwk{Kty: "OKP", Crv: "Ed25519", Alg: AlgEdDSA, Use: "sig", KID: k.KID,
				X: enc.EncodeToString(pub)})
		default:
			return nil, fmt.Errorf("jws: cannot publish a %T", k.Key)
		}
	}
	return json.Marshal(out)
}

// GeminiIssuer is the "iss" gemhook's receiver expects by default on a JWS
// delivery that carries one: the origin that publishes Gemini's key set.
const GeminiIssuer = "https://generativelanguage.googleapis.com"
