package gemhook

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
	UserMetadata map[string]any // echoed from the job's webhook config (WithUserMetadata), if any
	Scheme       string         // what verified it: "v1", "v1a" or "jws"
	Endpoint     string         // request path it arrived on (set by ServeHTTP only)
	Raw          []byte         // the exact body that was signed

	replay string          // for a JWS delivery, the token's dedupe key (see verifiedJWS)
	meta   json.RawMessage // user_metadata as received, where token reads the correlation token
	signer string          // for a v1 delivery, which project secret verified it (signerOf)
}

// DedupeKey names the delivery for deduplication: the same on every retry
// of one delivery and on no other. For v1 and v1a it is built from the
// webhook-id, which their signatures cover. A JWS covers no header, so for
// one its key comes from the token itself, and its ID (an unsigned header
// that anyone replaying the token may choose) must not be used to dedupe.
// Callers of Verify who keep their own dedupe set should key it on this.
func (e *Event) DedupeKey() string {
	switch {
	case e.replay != "":
		return e.replay
	case e.ID == "":
		return ""
	}
	return idKey(e.ID)
}

// idKey is the dedupe key of a delivery whose signature covers its
// webhook-id; the prefix keeps ids apart from JWS replay keys.
func idKey(id string) string { return "id:" + id }

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
// would cost more than checking the signature. The body is scanned once;
// the string fields share one allocation.
func decodeEvent(body []byte) (*Event, error) {
	s := scanner{b: body, envelope: true}
	if _, err := s.document(nil); err != nil {
		return nil, err
	}
	typ, ts, data, meta := s.env[envType], s.env[envTimestamp], s.env[envData], s.env[envMetadata]
	id, name, uri, file, video := s.dat[datID], s.dat[datName], s.dat[datURI], s.dat[datFile], s.dat[datVideo]
	msg, code, dmeta := s.dat[datMessage], s.dat[datCode], s.dat[datMetadata]
	s.share(typ, ts, id, name, uri, file, video, msg, code)

	ev := &Event{Raw: body, Type: s.text(typ)}
	if t := s.text(ts); t != "" {
		if tt, err := time.Parse(time.RFC3339Nano, t); err == nil {
			ev.Timestamp = tt
		}
	}
	ev.meta = s.rawObject(meta)
	if data.kind(body) != '{' {
		ev.UserMetadata = decodeMetadata(ev.meta)
		return ev, nil
	}
	ev.Data = EventData{
		OutputFileURI: s.text(uri),
		FileName:      s.text(file),
		VideoURI:      s.text(video),
		ErrorMessage:  s.text(msg),
		ErrorCode:     s.errorCode(code),
		Raw:           s.rawObject(data),
	}
	rid := s.text(id)
	if rid == "" {
		rid = s.text(name)
	}
	ev.Resource = resourceName(ev.Type, rid)
	if ev.meta == nil {
		// Where Gemini echoes user_metadata is undocumented: the top level
		// is the better guess, data is the fallback.
		ev.meta = s.rawObject(dmeta)
	}
	ev.UserMetadata = decodeMetadata(ev.meta)
	return ev, nil
}

// errorCode keeps a number in its decimal text and unquotes a string; other
// JSON values are kept as their text.
func (s *scanner) errorCode(v span) string {
	switch v.kind(s.b) {
	case 0, 'n':
		return ""
	case '"':
		return s.text(v)
	}
	return s.sub(v.start, v.end)
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
// plain marks a string whose bytes are its value: printable ASCII without
// escapes.
type span struct {
	start, end int
	plain      bool
}

// kind returns the first byte of a value: '{', '[', '"', 'n', ..., or 0
// for an absent one.
func (v span) kind(b []byte) byte {
	if v.end == 0 {
		return 0
	}
	return b[v.start]
}

type field struct{ key, val span }

// maxDepth matches encoding/json's nesting limit, so that both accept the
// same documents.
const maxDepth = 10000

var (
	errSyntax = errors.New("invalid JSON")
	errDepth  = errors.New("JSON nested too deeply")
)

// scanner validates JSON (RFC 8259 grammar, as encoding/json accepts it)
// and records where values are, without building them. It either collects
// every member of the top-level object (document's dst), or, in envelope
// mode, only the members an event has, in fixed slots, which costs no
// allocation. The JWS claim checks use it too.
type scanner struct {
	b        []byte
	i        int
	top      []field // members of the top-level object, unless envelope
	envelope bool
	env      [4]span // envelope mode: the last of each envelope member
	dat      [8]span // envelope mode: the last of each member of the last "data" object

	shared string // the values share copied, back to back
	segs   [9]segment
	nseg   int
}

// segment is where share put body[start:end] in scanner.shared.
type segment struct{ start, end, off int }

// Modes of object.
const (
	skip = iota
	collectTop
	collectData
)

// Slots of scanner.env and scanner.dat.
const (
	envType = iota
	envTimestamp
	envData
	envMetadata
)

const (
	datID = iota
	datName
	datURI
	datFile
	datVideo
	datMessage
	datCode
	datMetadata
)

func envSlot(k []byte) int {
	switch string(k) {
	case "type":
		return envType
	case "timestamp":
		return envTimestamp
	case "data":
		return envData
	case "user_metadata":
		return envMetadata
	}
	return -1
}

func datSlot(k []byte) int {
	switch string(k) {
	case "id":
		return datID
	case "name":
		return datName
	case "output_file_uri":
		return datURI
	case "file_name":
		return datFile
	case "video_uri":
		return datVideo
	case "error_message":
		return datMessage
	case "error_code":
		return datCode
	case "user_metadata":
		return datMetadata
	}
	return -1
}

// document checks that the whole body is one JSON object and returns its
// members, appended to dst. Errors wrap ErrMalformedEvent.
func (s *scanner) document(dst []field) ([]field, error) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		if _, err := s.value(0); err != nil {
			return nil, malformed(err)
		}
		return nil, malformed(errors.New("not a JSON object"))
	}
	s.top = dst
	if err := s.object(0, collectTop); err != nil {
		return nil, malformed(err)
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, malformed(errSyntax)
	}
	return s.top, nil
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

// object scans the object at s.i. In collectTop mode it records the
// members in s.top and those of a "data" object in s.data.
func (s *scanner) object(depth, mode int) error {
	if depth >= maxDepth {
		return errDepth
	}
	s.i++ // '{'
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return errSyntax
		}
		k := span{start: s.i}
		plain, err := s.str()
		if err != nil {
			return err
		}
		k.end, k.plain = s.i, plain
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errSyntax
		}
		s.i++
		s.ws()
		v := span{start: s.i}
		slot := -1
		switch {
		case mode == collectTop && s.envelope:
			slot = envSlot(s.key(k))
		case mode == collectData:
			slot = datSlot(s.key(k))
		}
		if slot == envData && mode == collectTop && s.i < len(s.b) && s.b[s.i] == '{' {
			s.dat = [8]span{}
			err = s.object(depth+1, collectData)
		} else {
			v.plain, err = s.value(depth + 1)
		}
		if err != nil {
			return err
		}
		v.end = s.i
		switch {
		case slot >= 0 && mode == collectTop:
			s.env[slot] = v
		case slot >= 0:
			s.dat[slot] = v
		case mode == collectTop && !s.envelope:
			s.top = append(s.top, field{k, v})
		}
		s.ws()
		if s.i >= len(s.b) {
			return errSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return nil
		default:
			return errSyntax
		}
	}
}

// value scans one JSON value at s.i; plain is str's for a string.
func (s *scanner) value(depth int) (plain bool, err error) {
	if s.i >= len(s.b) {
		return false, errSyntax
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
	return false, errSyntax
}

func (s *scanner) array(depth int) error {
	if depth >= maxDepth {
		return errDepth
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
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return errSyntax
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
			return false, errSyntax
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return plain, nil
		case c < 0x20:
			return false, errSyntax
		case c >= 0x80:
			plain = false
			i++
		default: // backslash
			plain = false
			if i+1 >= len(b) {
				return false, errSyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return false, errSyntax
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return false, errSyntax
					}
				}
				i += 6
			default:
				return false, errSyntax
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

// key returns a member's name, for comparison with string(...), which does
// not allocate. Keys with escapes are decoded, so "\u0074ype" is "type", as
// in encoding/json.
func (s *scanner) key(k span) []byte {
	if k.plain {
		return s.b[k.start+1 : k.end-1]
	}
	return []byte(s.decode(k))
}

// share copies the contents of the given plain strings and numbers (the
// fields an Event keeps) into one string, back to back, so that text can
// hand out substrings of it: one allocation for all of them, holding
// nothing else of the body. Event strings can outlive the body (the hub
// keeps orphans' notes), so they must not pin it.
func (s *scanner) share(vs ...span) {
	n := 0
	for _, v := range vs {
		if lo, hi, ok := s.sharable(v); ok {
			n += hi - lo
		}
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for _, v := range vs {
		if lo, hi, ok := s.sharable(v); ok && s.nseg < len(s.segs) {
			s.segs[s.nseg] = segment{lo, hi, b.Len()}
			s.nseg++
			b.Write(s.b[lo:hi])
		}
	}
	s.shared = b.String()
}

// sharable returns the bytes of v that share would copy: a plain string's
// contents or a number's text.
func (s *scanner) sharable(v span) (lo, hi int, ok bool) {
	switch k := v.kind(s.b); {
	case k == '"' && v.plain:
		return v.start + 1, v.end - 1, true
	case k == '-' || k >= '0' && k <= '9':
		return v.start, v.end, true
	}
	return 0, 0, false
}

// sub returns body[start:end] as a string, from the shared copy when share
// copied those bytes.
func (s *scanner) sub(start, end int) string {
	for _, g := range s.segs[:s.nseg] {
		if start >= g.start && end <= g.end {
			return s.shared[g.off+start-g.start : g.off+end-g.start]
		}
	}
	return string(s.b[start:end])
}

// text returns a string value's contents, or "" for any other value.
func (s *scanner) text(v span) string {
	if v.kind(s.b) != '"' {
		return ""
	}
	if v.plain {
		return s.sub(v.start+1, v.end-1)
	}
	return s.decode(v)
}

// decode unquotes a string with escapes or non-ASCII bytes by
// encoding/json's rules (surrogate pairs, invalid UTF-8 replaced by
// U+FFFD).
func (s *scanner) decode(v span) string {
	var out string
	if json.Unmarshal(s.b[v.start:v.end], &out) != nil {
		return ""
	}
	return out
}

// decodeMetadata decodes user_metadata as encoding/json decodes an object
// into a map: it keeps filling the map past a number beyond float64's
// range (which then reads as nil), so that error is not one here.
//
// Metadata is nearly always flat (a token, a tenant, an id): such an
// object is decoded by hand, its plain keys and strings sharing one copy
// of its bytes, at a few allocations where encoding/json takes twenty.
// Anything else goes to encoding/json.
func decodeMetadata(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	if m, ok := flatMetadata(raw); ok {
		return m
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return m
}

// flatMetadata decodes an object whose members are all strings, numbers,
// booleans or nulls; ok is false for any other.
func flatMetadata(raw []byte) (map[string]any, bool) {
	var buf [8]field
	s := scanner{b: raw}
	fs, err := s.document(buf[:0])
	if err != nil {
		return nil, false
	}
	for _, f := range fs {
		if k := f.val.kind(raw); k == '{' || k == '[' {
			return nil, false
		}
	}
	str := string(raw)
	text := func(v span) string {
		if v.plain {
			return str[v.start+1 : v.end-1]
		}
		return s.decode(v)
	}
	m := make(map[string]any, len(fs))
	for _, f := range fs {
		var val any
		switch k := f.val.kind(raw); {
		case k == '"':
			val = text(f.val)
		case k == 't':
			val = true
		case k == 'f':
			val = false
		case k == 'n':
			val = nil
		default:
			if n, err := strconv.ParseFloat(str[f.val.start:f.val.end], 64); err == nil {
				val = n
			}
		}
		m[text(f.key)] = val
	}
	return m, true
}

// rawObject returns an object value's bytes, capped so that appending to them
// cannot write into the body, or nil for any other value.
func (s *scanner) rawObject(v span) json.RawMessage {
	if v.kind(s.b) != '{' {
		return nil
	}
	return json.RawMessage(s.b[v.start:v.end:v.end])
}
