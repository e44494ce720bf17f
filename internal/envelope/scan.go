package envelope

import (
	"encoding/binary"
	"encoding/json"
	"errors"
)

// Why a document was refused. A refused document is one encoding/json
// would refuse to decode into a map.
var (
	ErrSyntax    = errors.New("invalid JSON")
	ErrDepth     = errors.New("JSON nested too deeply")
	ErrNotObject = errors.New("not a JSON object")
)

// maxDepth matches encoding/json's nesting limit, so that both accept the
// same documents.
const maxDepth = 10000

// Span is where a value lies in its document: doc[Start:End] is its JSON
// text. The zero Span is an absent value.
type Span struct {
	Start, End int
	Plain      bool // a string whose bytes are its contents: printable ASCII, no escapes
}

// Kind returns the first byte of the value ('{', '[', '"', 't', 'f', 'n',
// '-' or a digit), or 0 for an absent one.
func (v Span) Kind(doc []byte) byte {
	if v.End == 0 {
		return 0
	}
	return doc[v.Start]
}

// Raw returns the value's JSON text; empty for an absent value.
func (v Span) Raw(doc []byte) []byte { return doc[v.Start:v.End] }

// Text returns a string value's contents, or "" for any other value.
func (v Span) Text(doc []byte) string {
	if v.Kind(doc) != '"' {
		return ""
	}
	if v.Plain {
		return string(doc[v.Start+1 : v.End-1])
	}
	return decode(doc, v)
}

// Member is one name and value of an object.
type Member struct{ Name, Value Span }

// Key returns the member's name, for comparison with string(...), which
// does not allocate. Names with escapes are decoded, so "\u0074ype" is
// "type", as in encoding/json.
func (m Member) Key(doc []byte) []byte { return key(doc, m.Name) }

// Members checks that doc is exactly one JSON object and appends its
// members to dst, in document order, repeated names included (encoding/json
// keeps the last of them).
func Members(dst []Member, doc []byte) ([]Member, error) {
	s := scanner{b: doc}
	return s.document(dst)
}

// scanner validates JSON (RFC 8259 grammar, as encoding/json accepts it)
// and records where values are, without building them. It either collects
// every member of the top-level object (Members), or, for an Event, only
// the fields an event has, in fixed slots, which costs no allocation.
type scanner struct {
	b      []byte
	i      int
	top    []Member // members of the top-level object, unless event
	event  bool
	fields [nFields]Span // event: the last of each field
}

// Modes of object.
const (
	skip = iota
	collectTop
	collectData
)

// document checks that the whole of s.b is one JSON object and returns its
// members, appended to dst (none for an event).
func (s *scanner) document(dst []Member) ([]Member, error) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		if _, err := s.value(0); err != nil {
			return nil, err
		}
		return nil, ErrNotObject
	}
	s.top = dst
	if err := s.object(0, collectTop); err != nil {
		return nil, err
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, ErrSyntax
	}
	return s.top, nil
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// object scans the object at s.i. In collectTop mode it records the
// members in s.top, or for an event the fields of it and of its "data"
// object in s.fields.
func (s *scanner) object(depth, mode int) error {
	if depth >= maxDepth {
		return ErrDepth
	}
	s.i++ // '{'
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return ErrSyntax
		}
		k := Span{Start: s.i}
		plain, err := s.str()
		if err != nil {
			return err
		}
		k.End, k.Plain = s.i, plain
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return ErrSyntax
		}
		s.i++
		s.ws()
		v := Span{Start: s.i}
		slot := Field(-1)
		switch {
		case mode == collectTop && s.event:
			slot = topField(key(s.b, k))
		case mode == collectData:
			slot = dataField(key(s.b, k))
		}
		if slot == Data {
			clear(s.fields[DataID:]) // the last "data" wins whole
		}
		if slot == Data && s.i < len(s.b) && s.b[s.i] == '{' {
			err = s.object(depth+1, collectData)
		} else {
			v.Plain, err = s.value(depth + 1)
		}
		if err != nil {
			return err
		}
		v.End = s.i
		switch {
		case slot >= 0:
			s.fields[slot] = v
		case mode == collectTop && !s.event:
			s.top = append(s.top, Member{k, v})
		}
		s.ws()
		if s.i >= len(s.b) {
			return ErrSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return nil
		default:
			return ErrSyntax
		}
	}
}

// value scans one JSON value at s.i; plain is str's for a string.
func (s *scanner) value(depth int) (plain bool, err error) {
	if s.i >= len(s.b) {
		return false, ErrSyntax
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		return false, s.object(depth, skip)
	case c == '[':
		return false, s.array(depth)
	case c == '-' || c >= '0' && c <= '9':
		return false, s.number()
	case c == 't':
		return false, s.literal("true")
	case c == 'f':
		return false, s.literal("false")
	case c == 'n':
		return false, s.literal("null")
	}
	return false, ErrSyntax
}

func (s *scanner) array(depth int) error {
	if depth >= maxDepth {
		return ErrDepth
	}
	s.i++ // '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if _, err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return ErrSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return nil
		default:
			return ErrSyntax
		}
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return ErrSyntax
	}
	s.i += len(lit)
	return nil
}

// special marks the bytes that end the fast loop in str: the quote, the
// backslash, control characters and non-ASCII bytes.
var special = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80
	}
	return
}()

// str scans a string, quotes included, and reports whether it is plain.
// Bytes that are not valid UTF-8 are allowed, as encoding/json allows them.
func (s *scanner) str() (plain bool, err error) {
	plain = true
	b, i := s.b, s.i+1
	for {
		for i+8 <= len(b) && !hasSpecial(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		for i < len(b) && !special[b[i]] {
			i++
		}
		if i >= len(b) {
			return false, ErrSyntax
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return plain, nil
		case c < 0x20:
			return false, ErrSyntax
		case c >= 0x80:
			plain = false
			i++
		default: // backslash
			plain = false
			if i+1 >= len(b) {
				return false, ErrSyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return false, ErrSyntax
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return false, ErrSyntax
					}
				}
				i += 6
			default:
				return false, ErrSyntax
			}
		}
	}
}

// hasSpecial reports whether any of the eight bytes in x is special: a
// byte below 0x20, at or above 0x80, a quote or a backslash. It lets str
// skip plain text a word at a time.
func hasSpecial(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := (x - ones*0x20) &^ x  // high bit set where a byte < 0x20 (bytes < 0x80)
	quote := (x ^ ones*'"') - ones // high bit set where a byte was '"' (and others, masked below)
	quote &^= x ^ ones*'"'
	slash := (x ^ ones*'\\') - ones
	slash &^= x ^ ones*'\\'
	return (below|quote|slash|x)&highs != 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return ErrSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return ErrSyntax
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return ErrSyntax
		}
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// key returns a name's text; see Member.Key.
func key(doc []byte, k Span) []byte {
	if k.Plain {
		return doc[k.Start+1 : k.End-1]
	}
	return []byte(decode(doc, k))
}

// decode unquotes a string with escapes or non-ASCII bytes by
// encoding/json's rules (surrogate pairs, invalid UTF-8 replaced by
// U+FFFD).
func decode(doc []byte, v Span) string {
	var out string
	if json.Unmarshal(doc[v.Start:v.End], &out) != nil {
		return ""
	}
	return out
}
