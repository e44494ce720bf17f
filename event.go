package gemhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event is one verified webhook delivery.
type Event struct {
	ID           string         // webhook-id: the same on every retry of one delivery
	Type         string         // "batch.succeeded", "video.generated", ...
	Timestamp    time.Time      // when the event occurred, from the envelope
	Resource     string         // data.id as a full resource name: "batches/x", "interactions/x", ...
	Data         EventData      // typed view of data
	UserMetadata map[string]any // echoed from the job's webhook config, if any
	Scheme       string         // what verified it: "v1", "v1a" or "jws"
	Endpoint     string         // request path it arrived on (set by ServeHTTP only)
	Raw          []byte         // the exact body that was signed
}

// EventData is the typed view of an event's data object. Every field is
// optional on the wire; absent fields are empty.
type EventData struct {
	OutputFileURI string          // batch.succeeded, video.generated
	FileName      string          // video.generated
	VideoURI      string          // video.generated (seen in Google's cookbook)
	ErrorCode     string          // *.failed; numbers are kept in their decimal text form
	ErrorMessage  string          // *.failed
	Raw           json.RawMessage // the whole data object, for fields not listed here
}

// decodeEvent decodes a verified body. The body must be one JSON object;
// anything else is ErrMalformedEvent. Inside it, decoding is lenient: Gemini
// may add fields at any time, and a rejected delivery would be retried for a
// day, so unknown fields are ignored and a known field of an unexpected JSON
// type reads as absent. Keys match exactly and the last of repeated keys
// wins, as with encoding/json into a map.
//
// The envelope is scanned by hand rather than with encoding/json: this runs
// on every delivery, and reflection-based decoding of two nested objects
// would cost more than checking the signature.
func decodeEvent(body []byte) (*Event, error) {
	s := scanner{b: body}
	var buf [8]field
	top, err := s.document(buf[:0])
	if err != nil {
		return nil, err
	}
	ev := &Event{Raw: body}
	var typ, ts, data, meta span
	for _, f := range top {
		switch {
		case s.keyIs(f.key, "type"):
			typ = f.val
		case s.keyIs(f.key, "timestamp"):
			ts = f.val
		case s.keyIs(f.key, "data"):
			data = f.val
		case s.keyIs(f.key, "user_metadata"):
			meta = f.val
		}
	}
	ev.Type = s.text(typ)
	if t := s.text(ts); t != "" {
		if tt, err := time.Parse(time.RFC3339Nano, t); err == nil {
			ev.Timestamp = tt
		}
	}
	ev.UserMetadata = s.object(meta)
	if s.kind(data) == '{' {
		ev.Data.Raw = json.RawMessage(body[data.start:data.end:data.end])
		ev.decodeData(&s, data)
	}
	return ev, nil
}

func (ev *Event) decodeData(s *scanner, data span) {
	inner := scanner{b: s.b, i: data.start}
	var buf [12]field
	fields, err := inner.fieldsOf(0, buf[:0], true)
	if err != nil { // unreachable: document already validated the body
		return
	}
	var id, name, code, meta span
	for _, f := range fields {
		switch {
		case s.keyIs(f.key, "id"):
			id = f.val
		case s.keyIs(f.key, "name"):
			name = f.val
		case s.keyIs(f.key, "output_file_uri"):
			ev.Data.OutputFileURI = s.text(f.val)
		case s.keyIs(f.key, "file_name"):
			ev.Data.FileName = s.text(f.val)
		case s.keyIs(f.key, "video_uri"):
			ev.Data.VideoURI = s.text(f.val)
		case s.keyIs(f.key, "error_message"):
			ev.Data.ErrorMessage = s.text(f.val)
		case s.keyIs(f.key, "error_code"):
			code = f.val
		case s.keyIs(f.key, "user_metadata"):
			meta = f.val
		}
	}
	rid := s.text(id)
	if rid == "" {
		rid = s.text(name)
	}
	ev.Resource = resourceName(ev.Type, rid)
	ev.Data.ErrorCode = s.errorCode(code)
	if ev.UserMetadata == nil {
		// Where Gemini echoes user_metadata is undocumented: the top level
		// is the better guess, data is the fallback.
		ev.UserMetadata = s.object(meta)
	}
}

// errorCode keeps a number in its decimal text and unquotes a string; other
// JSON values are kept as their text.
func (s *scanner) errorCode(v span) string {
	switch s.kind(v) {
	case 0, 'n':
		return ""
	case '"':
		return s.text(v)
	}
	return string(s.b[v.start:v.end])
}

// resourceName turns data.id into the resource name the API takes, whether
// Gemini sent "batches/x" or a bare "x". Video operations are named under
// their model ("models/veo/operations/x"); a bare video id cannot be
// completed and is passed on as it is.
func resourceName(typ, id string) string {
	if id == "" || strings.Contains(id, "/") {
		return id
	}
	switch {
	case strings.HasPrefix(typ, "batch."):
		return "batches/" + id
	case strings.HasPrefix(typ, "interaction."):
		return "interactions/" + id
	}
	return id
}

// span is a value's bytes in the body; the zero span is an absent value.
type span struct{ start, end int }

type field struct{ key, val span }

// maxDepth matches encoding/json's nesting limit, so that both accept the
// same documents.
const maxDepth = 10000

var errSyntax = errors.New("invalid JSON")

// scanner validates JSON (RFC 8259 grammar, as encoding/json accepts it)
// and finds the spans of the envelope's members without building values.
type scanner struct {
	b []byte
	i int
}

// document checks that the whole body is one JSON object and appends its
// members to dst.
func (s *scanner) document(dst []field) ([]field, error) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		if err := s.value(0); err != nil {
			return nil, malformed(err)
		}
		return nil, malformed(errors.New("not a JSON object"))
	}
	fields, err := s.fieldsOf(0, dst, true)
	if err != nil {
		return nil, malformed(err)
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, malformed(errSyntax)
	}
	return fields, nil
}

func malformed(err error) error {
	return fmt.Errorf("%w: %v", ErrMalformedEvent, err)
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

// fieldsOf scans the object at s.i, appending its members to dst if
// collect is set.
func (s *scanner) fieldsOf(depth int, dst []field, collect bool) ([]field, error) {
	if depth >= maxDepth {
		return nil, errors.New("JSON nested too deeply")
	}
	s.i++ // '{'
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return dst, nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return nil, errSyntax
		}
		k := span{start: s.i}
		if err := s.str(); err != nil {
			return nil, err
		}
		k.end = s.i
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return nil, errSyntax
		}
		s.i++
		s.ws()
		v := span{start: s.i}
		if err := s.value(depth + 1); err != nil {
			return nil, err
		}
		v.end = s.i
		if collect {
			dst = append(dst, field{k, v})
		}
		s.ws()
		if s.i >= len(s.b) {
			return nil, errSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return dst, nil
		default:
			return nil, errSyntax
		}
	}
}

// value scans one JSON value at s.i.
func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return errSyntax
	}
	switch c := s.b[s.i]; {
	case c == '{':
		_, err := s.fieldsOf(depth, nil, false)
		return err
	case c == '[':
		return s.array(depth)
	case c == '"':
		return s.str()
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return errSyntax
}

func (s *scanner) array(depth int) error {
	if depth >= maxDepth {
		return errors.New("JSON nested too deeply")
	}
	s.i++ // '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return nil
		default:
			return errSyntax
		}
	}
}

func (s *scanner) literal(lit string) error {
	if !strings.HasPrefix(string(s.b[s.i:min(len(s.b), s.i+len(lit))]), lit) {
		return errSyntax
	}
	s.i += len(lit)
	return nil
}

// str scans a string, quotes included. Bytes that are not valid UTF-8 are
// allowed, as encoding/json allows them.
func (s *scanner) str() error {
	s.i++ // '"'
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c < 0x20:
			return errSyntax
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return errSyntax
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+5 > len(s.b) {
					return errSyntax
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return errSyntax
					}
				}
				s.i += 5
			default:
				return errSyntax
			}
		default:
			s.i++
		}
	}
	return errSyntax
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
		return errSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return errSyntax
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return errSyntax
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

// kind returns the first byte of a value: '{', '[', '"', 'n', ..., or 0
// for an absent one.
func (s *scanner) kind(v span) byte {
	if v.end == 0 {
		return 0
	}
	return s.b[v.start]
}

// keyIs reports whether the key at k is name. Keys with escapes are
// decoded first, so "\u0074ype" is "type", as in encoding/json.
func (s *scanner) keyIs(k span, name string) bool {
	raw := s.b[k.start+1 : k.end-1]
	if plain(raw) {
		return string(raw) == name
	}
	return s.text(k) == name
}

// text returns a string value's contents, or "" for any other value.
func (s *scanner) text(v span) string {
	if s.kind(v) != '"' {
		return ""
	}
	raw := s.b[v.start+1 : v.end-1]
	if plain(raw) {
		return string(raw)
	}
	// Escapes and non-ASCII bytes: let encoding/json apply its rules
	// (surrogate pairs, invalid UTF-8 replaced by U+FFFD).
	var out string
	if json.Unmarshal(s.b[v.start:v.end], &out) != nil {
		return ""
	}
	return out
}

// plain reports whether a string's raw bytes are its value: printable ASCII
// without escapes.
func plain(raw []byte) bool {
	for _, c := range raw {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// object decodes an object value into a map, or returns nil for any other
// value. It is only reached when user metadata is present.
func (s *scanner) object(v span) map[string]any {
	if s.kind(v) != '{' {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(s.b[v.start:v.end], &m) != nil {
		return nil
	}
	return m
}
