package signature

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strings"
	"sync/atomic"
)

// Limits on a compact JWS. They are checked before any decoding, so an
// oversized or oddly shaped token costs a length check and one scan.
const (
	MaxJWSLen       = MaxListLen // bytes in the whole token
	MaxJWSHeaderLen = 1024       // bytes in the encoded protected header
	MaxKIDLen       = 128        // bytes in "kid"
	minRSASigLen    = 2048 / 8   // the RSA key sizes the receiver keeps: 2048
	maxRSASigLen    = 8192 / 8   // to 8192 bits
)

// The JWS algorithms gemhook accepts. Each one is tied to one key type.
const (
	AlgRS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256; *rsa.PublicKey
	AlgEdDSA = "EdDSA" // Ed25519 (RFC 8037); ed25519.PublicKey
)

// Errors describing a JWS that is malformed or breaks gemhook's rules. They
// are returned before any key is looked up.
var (
	ErrJWSSize      = errors.New("jws: token is empty or too long")
	ErrJWSShape     = errors.New("jws: token is not three base64url segments")
	ErrJWSHeader    = errors.New("jws: protected header is malformed")
	ErrJWSAlg       = errors.New("jws: algorithm not allowed")
	ErrJWSKID       = errors.New("jws: kid is missing or not a short opaque token")
	ErrJWSForbidden = errors.New("jws: header names a key source or extension that is not accepted")
	ErrJWSType      = errors.New("jws: typ names another kind of token")
	ErrJWSSignature = errors.New("jws: signature does not verify")
)

// forbidden header parameters: key sources that would let the token pick
// its own key (jku, x5u, jwk, x5c), extensions gemhook does not implement
// (crit, and b64 which needs crit), and compression.
var forbidden = [...]string{"jku", "x5u", "jwk", "x5c", "crit", "b64", "zip"}

// JWS is a compact JWS that passed the structural checks of ParseJWS. Its
// signature has not been verified.
type JWS struct {
	Alg          string // AlgRS256 or AlgEdDSA
	KID          string
	Typ          string // "" when absent
	SigningInput string // header "." payload, as signed
	Payload      []byte // decoded payload (the claims); untrusted until Verify
	Signature    []byte
}

// ParseJWS checks the shape of a compact JWS and decodes it. It enforces:
// total size, exactly three non-empty unpadded base64url segments, a JSON
// object header with no repeated member, alg in the allow-list ("Ed25519",
// the fully specified name of RFC 9864, is read as EdDSA), a kid of at most
// MaxKIDLen bytes from a conservative alphabet, no header parameter that
// names a key or an extension, and a signature of a size the algorithm can
// produce. The JSON serialization is never accepted.
func ParseJWS(token string) (*JWS, error) {
	if token == "" || len(token) > MaxJWSLen {
		return nil, ErrJWSSize
	}
	i := strings.IndexByte(token, '.')
	j := strings.LastIndexByte(token, '.')
	if i <= 0 || j == i || j == len(token)-1 || j-i == 1 {
		return nil, ErrJWSShape
	}
	h, p, s := token[:i], token[i+1:j], token[j+1:]
	if !base64URL(h) || !base64URL(p) || !base64URL(s) {
		return nil, ErrJWSShape
	}
	if len(h) > MaxJWSHeaderLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrJWSHeader, MaxJWSHeaderLen)
	}
	enc := base64.RawURLEncoding.Strict()
	out := &JWS{SigningInput: token[:j]}
	if c := cachedHeader(h); c != nil {
		out.Alg, out.KID, out.Typ = c.alg, c.kid, c.typ
	} else {
		hdr, err := enc.DecodeString(h)
		if err != nil {
			return nil, ErrJWSShape
		}
		if err := out.readHeader(hdr); err != nil {
			return nil, err
		}
		cacheHeader(h, out)
	}
	var err error
	if out.Payload, err = enc.DecodeString(p); err != nil {
		return nil, ErrJWSShape
	}
	if out.Signature, err = enc.DecodeString(s); err != nil {
		return nil, ErrJWSShape
	}
	switch n := len(out.Signature); out.Alg {
	case AlgEdDSA:
		if n != ed25519.SignatureSize {
			return nil, ErrJWSSignature
		}
	case AlgRS256:
		if n < minRSASigLen || n > maxRSASigLen {
			return nil, ErrJWSSignature
		}
	}
	return out, nil
}

func (t *JWS) readHeader(hdr []byte) error {
	m, err := members(hdr)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrJWSHeader, err)
	}
	for _, name := range forbidden {
		if _, ok := m[name]; ok {
			return fmt.Errorf("%w: %q", ErrJWSForbidden, name)
		}
	}
	alg, ok := stringMember(m, "alg")
	switch {
	case !ok:
		return fmt.Errorf("%w: alg is missing or not a string", ErrJWSAlg)
	case alg == AlgRS256, alg == AlgEdDSA:
		t.Alg = alg
	case alg == "Ed25519":
		t.Alg = AlgEdDSA
	default:
		return fmt.Errorf("%w: %.16q", ErrJWSAlg, alg)
	}
	kid, ok := stringMember(m, "kid")
	if !ok || !ValidKID(kid) {
		return ErrJWSKID
	}
	t.KID = kid
	if raw, ok := m["typ"]; ok {
		if t.Typ, ok = stringMember(m, "typ"); !ok {
			return fmt.Errorf("%w: typ %.16s is not a string", ErrJWSHeader, raw)
		}
		if !compactType(t.Typ) {
			return fmt.Errorf("%w: %.32q", ErrJWSType, t.Typ)
		}
	}
	return nil
}

// compactType reports whether typ, when a token carries one, names a plain
// JWT or compact JWS: "JWT" or "JOSE", with or without "application/", in
// any case (RFC 7515 §4.1.9). Explicit types such as "at+jwt" mark tokens
// minted for another purpose, which must not pass for a webhook signature.
func compactType(typ string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, "JWT") || strings.EqualFold(typ, "JOSE")
}

// Every delivery from one signer carries the same protected header, so the
// result of reading a header is kept in a few slots, indexed by a hash of
// its encoded form. Only headers that passed every check are kept, and a
// hit requires the whole segment to be equal, so the cache changes no
// outcome; an attacker cycling headers only causes misses.
type headerEntry struct{ seg, alg, kid, typ string }

var (
	headerSeed  = maphash.MakeSeed()
	headerSlots [8]atomic.Pointer[headerEntry]
)

func cachedHeader(seg string) *headerEntry {
	e := headerSlots[maphash.String(headerSeed, seg)%uint64(len(headerSlots))].Load()
	if e != nil && e.seg == seg {
		return e
	}
	return nil
}

func cacheHeader(seg string, t *JWS) {
	e := &headerEntry{seg: strings.Clone(seg), alg: t.Alg, kid: t.KID, typ: t.Typ}
	headerSlots[maphash.String(headerSeed, seg)%uint64(len(headerSlots))].Store(e)
}

// ValidKID reports whether kid is a short opaque token: 1 to MaxKIDLen
// bytes of letters, digits and -_.~+/=: (enough for thumbprints, UUIDs and
// base64 ids; nothing a path, query or log line would interpret).
func ValidKID(kid string) bool {
	if kid == "" || len(kid) > MaxKIDLen {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.~+/=:", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Verify checks the signature with pub, which must be the key type of the
// token's algorithm: an RSA key never verifies an EdDSA token, nor the
// reverse. It returns ErrJWSSignature on any mismatch.
func (t *JWS) Verify(pub crypto.PublicKey) error {
	switch t.Alg {
	case AlgRS256:
		k, ok := pub.(*rsa.PublicKey)
		if !ok || k.Size() != len(t.Signature) {
			return ErrJWSSignature
		}
		h := sha256.New()
		io.WriteString(h, t.SigningInput)
		var sum [sha256.Size]byte
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, h.Sum(sum[:0]), t.Signature) != nil {
			return ErrJWSSignature
		}
		return nil
	case AlgEdDSA:
		k, ok := pub.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize || !ed25519.Verify(k, []byte(t.SigningInput), t.Signature) {
			return ErrJWSSignature
		}
		return nil
	}
	return ErrJWSAlg
}

// base64URL reports whether s is non-empty and uses only the unpadded
// base64url alphabet (the decoder alone would skip CR and LF).
func base64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		if !urlAlphabet[s[i]] {
			return false
		}
	}
	return s != ""
}

var urlAlphabet = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = true
	}
	return t
}()

// members decodes one JSON object into its members, refusing a repeated
// name: two "alg" members would be read differently by different parsers.
func members(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	m := make(map[string]json.RawMessage, 4)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("member %.16q repeated", name)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		m[name] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the object")
	}
	return m, nil
}

func stringMember(m map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := m[name]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
