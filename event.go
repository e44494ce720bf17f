package gemhook

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gemhook/gemhook/internal/envelope"
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

	replay string // for a JWS delivery, the token's dedupe key (see keyset.Set.VerifyJWS)
	signer string // for a v1 delivery, which project secret verified it (signerOf)
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
// The body is scanned once (internal/envelope); the string fields share
// one allocation.
func decodeEvent(body []byte) (*Event, error) {
	var e envelope.Event
	if err := e.Scan(body); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	e.Share(envelope.Type, envelope.Timestamp, envelope.DataID, envelope.DataName, envelope.DataOutputFileURI,
		envelope.DataFileName, envelope.DataVideoURI, envelope.DataErrorMessage, envelope.DataErrorCode)

	ev := &Event{Raw: body, Type: e.Text(envelope.Type)}
	if t := e.Text(envelope.Timestamp); t != "" {
		if tt, err := time.Parse(time.RFC3339Nano, t); err == nil {
			ev.Timestamp = tt
		}
	}
	meta := e.Object(envelope.UserMetadata)
	if e.Kind(envelope.Data) != '{' {
		ev.UserMetadata = decodeMetadata(meta)
		return ev, nil
	}
	ev.Data = EventData{
		OutputFileURI: e.Text(envelope.DataOutputFileURI),
		FileName:      e.Text(envelope.DataFileName),
		VideoURI:      e.Text(envelope.DataVideoURI),
		ErrorMessage:  e.Text(envelope.DataErrorMessage),
		ErrorCode:     e.Value(envelope.DataErrorCode), // a number keeps its decimal text
		Raw:           e.Object(envelope.Data),
	}
	rid := e.Text(envelope.DataID)
	if rid == "" {
		rid = e.Text(envelope.DataName)
	}
	ev.Resource = resourceName(ev.Type, rid)
	if meta == nil {
		// Where Gemini echoes user_metadata is undocumented: the top level
		// is the better guess, data is the fallback.
		meta = e.Object(envelope.DataUserMetadata)
	}
	ev.UserMetadata = decodeMetadata(meta)
	return ev, nil
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
	var buf [8]envelope.Member
	ms, err := envelope.Members(buf[:0], raw)
	if err != nil {
		return nil, false
	}
	for _, m := range ms {
		if k := m.Value.Kind(raw); k == '{' || k == '[' {
			return nil, false
		}
	}
	str := string(raw)
	text := func(v envelope.Span) string {
		if v.Plain {
			return str[v.Start+1 : v.End-1]
		}
		return v.Text(raw)
	}
	out := make(map[string]any, len(ms))
	for _, m := range ms {
		var val any
		switch k := m.Value.Kind(raw); {
		case k == '"':
			val = text(m.Value)
		case k == 't':
			val = true
		case k == 'f':
			val = false
		case k == 'n':
			val = nil
		default:
			if n, err := strconv.ParseFloat(str[m.Value.Start:m.Value.End], 64); err == nil {
				val = n
			}
		}
		out[text(m.Name)] = val
	}
	return out, true
}

// token is the job's correlation token from the event's metadata; a value
// that is not a string is no token. It is a copy: the metadata's strings
// share one copy of their bytes, which an orphaned event's token, kept for
// hours, would otherwise hold on to.
func (e *Event) token() string {
	s, _ := e.UserMetadata[TokenKey].(string)
	return strings.Clone(s)
}
