// Package envelope reads the JSON of webhook events and of the JWS claim
// sets that carry them, without building it: it checks that a document is
// one JSON object, as encoding/json would read it, says where the members
// gemhook reads are, and compares two values as data (which binds a token
// to its delivery). It runs on every delivery, where reflection-based
// decoding of two nested objects would cost more than checking the
// signature. It is internal because its shape follows what the Receiver
// and the key set need, not what a JSON library would offer.
package envelope

import "strings"

// Field names a member an Event records: one of the envelope's, or one of
// its "data" object's.
type Field int

const (
	Type         Field = iota // "type"
	Timestamp                 // "timestamp"
	Data                      // "data"
	UserMetadata              // "user_metadata"

	DataID            // data "id"
	DataName          // data "name"
	DataOutputFileURI // data "output_file_uri"
	DataFileName      // data "file_name"
	DataVideoURI      // data "video_uri"
	DataErrorMessage  // data "error_message"
	DataErrorCode     // data "error_code"
	DataUserMetadata  // data "user_metadata"

	nFields
)

func topField(k []byte) Field {
	switch string(k) {
	case "type":
		return Type
	case "timestamp":
		return Timestamp
	case "data":
		return Data
	case "user_metadata":
		return UserMetadata
	}
	return -1
}

func dataField(k []byte) Field {
	switch string(k) {
	case "id":
		return DataID
	case "name":
		return DataName
	case "output_file_uri":
		return DataOutputFileURI
	case "file_name":
		return DataFileName
	case "video_uri":
		return DataVideoURI
	case "error_message":
		return DataErrorMessage
	case "error_code":
		return DataErrorCode
	case "user_metadata":
		return DataUserMetadata
	}
	return -1
}

// Event is a scanned event envelope: where each Field's value is. Names
// match exactly and the last of repeated names wins, as with encoding/json
// into a map; the data fields are those of the last "data" member, when
// that is an object. The zero Event is ready for Scan and holds no
// allocation before Share.
type Event struct {
	scanner

	shared string // the values Share copied, back to back
	segs   [9]segment
	nseg   int
}

// segment is where Share put body[start:end] in Event.shared.
type segment struct{ start, end, off int }

// Scan checks that body is one JSON object and records its fields. Its
// error is ErrSyntax, ErrDepth or ErrNotObject.
func (e *Event) Scan(body []byte) error {
	e.b, e.event = body, true
	_, err := e.document(nil)
	return err
}

// Kind returns the first byte of f's value, or 0 if f is absent.
func (e *Event) Kind(f Field) byte { return e.fields[f].Kind(e.b) }

// Text returns f's contents when it is a string, or "".
func (e *Event) Text(f Field) string {
	v := e.fields[f]
	if v.Kind(e.b) != '"' {
		return ""
	}
	if v.Plain {
		return e.sub(v.Start+1, v.End-1)
	}
	return decode(e.b, v)
}

// Value returns f's contents when it is a string, "" when it is null or
// absent, and the JSON text of any other value, so that a number keeps its
// decimal form.
func (e *Event) Value(f Field) string {
	v := e.fields[f]
	switch v.Kind(e.b) {
	case 0, 'n':
		return ""
	case '"':
		return e.Text(f)
	}
	return e.sub(v.Start, v.End)
}

// Object returns f's JSON text when it is an object, capped so that
// appending to it cannot write into the body, or nil.
func (e *Event) Object(f Field) []byte {
	v := e.fields[f]
	if v.Kind(e.b) != '{' {
		return nil
	}
	return e.b[v.Start:v.End:v.End]
}

// Share copies the plain strings and numbers among fs into one string,
// back to back, from which Text and Value then hand out substrings: one
// allocation for all of them, holding nothing else of the body. Strings
// read from an event can outlive its body (the hub keeps orphans' notes),
// so they must not pin it. At most nine fields are shared.
func (e *Event) Share(fs ...Field) {
	n := 0
	for _, f := range fs {
		if lo, hi, ok := e.sharable(e.fields[f]); ok {
			n += hi - lo
		}
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fs {
		if lo, hi, ok := e.sharable(e.fields[f]); ok && e.nseg < len(e.segs) {
			e.segs[e.nseg] = segment{lo, hi, b.Len()}
			e.nseg++
			b.Write(e.b[lo:hi])
		}
	}
	e.shared = b.String()
}

// sharable returns the bytes of v that Share would copy: a plain string's
// contents or a number's text.
func (e *Event) sharable(v Span) (lo, hi int, ok bool) {
	switch k := v.Kind(e.b); {
	case k == '"' && v.Plain:
		return v.Start + 1, v.End - 1, true
	case k == '-' || k >= '0' && k <= '9':
		return v.Start, v.End, true
	}
	return 0, 0, false
}

// sub returns body[start:end] as a string, from the shared copy when Share
// copied those bytes.
func (e *Event) sub(start, end int) string {
	for _, g := range e.segs[:e.nseg] {
		if start >= g.start && end <= g.end {
			return e.shared[g.off+start-g.start : g.off+end-g.start]
		}
	}
	return string(e.b[start:end])
}
