package signature

import (
	"errors"
	"strings"
)

// Limits on header values. They keep the work spent on an unauthenticated
// request small and predictable.
const (
	MaxIDLen     = 256   // bytes in webhook-id
	MaxEntries   = 16    // entries in webhook-signature
	MaxListLen   = 16384 // bytes in webhook-signature (a JWS entry is the large one)
	maxTimestamp = 19    // digits; the largest int64 has 19
	SignedSep    = "."
	versionV1    = "v1"
	versionV1a   = "v1a"
	entrySep     = ","
	entriesSep   = " "
)

// Errors describing malformed headers. The root package maps them onto its
// public sentinels.
var (
	ErrBadID        = errors.New("webhook-id is empty, too long, or contains '.' or a control character")
	ErrBadTimestamp = errors.New("webhook-timestamp is not canonical decimal Unix seconds")
	ErrTooMany      = errors.New("webhook-signature has too many entries")
	ErrTooLong      = errors.New("webhook-signature is too long")
	ErrEmptyList    = errors.New("webhook-signature has no entries")
)

// CheckID reports whether id may be used in the signed content. Standard
// Webhooks forbids '.', which would make "id.ts.body" ambiguous.
func CheckID(id string) error {
	if id == "" || len(id) > MaxIDLen {
		return ErrBadID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c == '.' || c < 0x21 || c == 0x7f {
			return ErrBadID
		}
	}
	return nil
}

// ParseTimestamp accepts only the canonical form: decimal digits, no sign,
// no leading zero, no spaces, and a value that fits an int64. Lenient parsing
// would let two different header strings carry one signed value.
func ParseTimestamp(s string) (int64, error) {
	if s == "" || len(s) > maxTimestamp || s[0] == '0' {
		return 0, ErrBadTimestamp
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, ErrBadTimestamp
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, ErrBadTimestamp
		}
		n = n*10 + d
	}
	return n, nil
}

// Scheme names the kind of a signature entry.
type Scheme uint8

const (
	SchemeUnknown Scheme = iota // an entry of a version this package does not know; skipped
	SchemeV1                    // HMAC-SHA256, project-level webhooks
	SchemeV1a                   // Ed25519, per-request webhooks as observed on live traffic
	SchemeJWS                   // compact JWS, per-request webhooks as documented by Google
)

func (s Scheme) String() string {
	switch s {
	case SchemeV1:
		return "v1"
	case SchemeV1a:
		return "v1a"
	case SchemeJWS:
		return "jws"
	}
	return "unknown"
}

// Entry is one element of the webhook-signature list. Value is the text after
// the comma (base64) for v1 and v1a, and the whole token for a JWS.
type Entry struct {
	Scheme Scheme
	Value  string
}

// ParseList splits a webhook-signature header into entries at ASCII white
// space. The list is capped in length and in count before anything else is
// done, so a header of ten thousand entries costs one length check. Entries of unknown versions
// are kept with SchemeUnknown so that callers can skip them; an entry that
// has no comma is a JWS if it has exactly two dots, and unknown otherwise.
func ParseList(h string) ([]Entry, error) {
	return AppendList(nil, h)
}

// AppendList is ParseList appending to dst, so that a caller can parse into
// a buffer it owns. On error it returns dst unchanged.
func AppendList(dst []Entry, h string) ([]Entry, error) {
	if len(h) > MaxListLen {
		return dst, ErrTooLong
	}
	out := dst
	for i := 0; i < len(h); {
		if asciiSpace[h[i]] {
			i++
			continue
		}
		j := i + 1
		for j < len(h) && !asciiSpace[h[j]] {
			j++
		}
		if len(out)-len(dst) == MaxEntries {
			return dst, ErrTooMany
		}
		out = append(out, classify(h[i:j]))
		i = j
	}
	if len(out) == len(dst) {
		return dst, ErrEmptyList
	}
	return out, nil
}

// asciiSpace marks the separators of the list: Standard Webhooks says
// spaces; tabs and the other ASCII white space are tolerated. Unicode
// spaces are not separators (they make an entry unknown).
var asciiSpace = [256]bool{' ': true, '\t': true, '\n': true, '\v': true, '\f': true, '\r': true}

func classify(f string) Entry {
	v, val, ok := strings.Cut(f, entrySep)
	if !ok {
		if strings.Count(f, ".") == 2 {
			return Entry{Scheme: SchemeJWS, Value: f}
		}
		return Entry{Scheme: SchemeUnknown, Value: f}
	}
	switch v {
	case versionV1:
		return Entry{Scheme: SchemeV1, Value: val}
	case versionV1a:
		return Entry{Scheme: SchemeV1a, Value: val}
	}
	return Entry{Scheme: SchemeUnknown, Value: val}
}

// Content is the byte string every Standard Webhooks scheme signs:
// id "." timestamp "." body.
func Content(id, ts string, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(ts)+2+len(body))
	b = append(b, id...)
	b = append(b, '.')
	b = append(b, ts...)
	b = append(b, '.')
	return append(b, body...)
}
