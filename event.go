package gemhook

import (
	"encoding/json"
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

// envelope is the wire form of an event. Unknown fields are ignored, and
// every field is optional: Gemini may add to the envelope at any time, and a
// rejected delivery would be retried for a day.
type envelope struct {
	Type         string          `json:"type"`
	Timestamp    string          `json:"timestamp"`
	Data         json.RawMessage `json:"data"`
	UserMetadata map[string]any  `json:"user_metadata"`
}

type wireData struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	OutputFileURI string          `json:"output_file_uri"`
	FileName      string          `json:"file_name"`
	VideoURI      string          `json:"video_uri"`
	ErrorCode     json.RawMessage `json:"error_code"`
	ErrorMessage  string          `json:"error_message"`
	UserMetadata  map[string]any  `json:"user_metadata"`
}

// decodeEvent decodes a verified body.
func decodeEvent(body []byte) (*Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedEvent, err)
	}
	ev := &Event{Type: env.Type, UserMetadata: env.UserMetadata, Raw: body}
	if env.Timestamp != "" {
		if t, err := time.Parse(time.RFC3339Nano, env.Timestamp); err == nil {
			ev.Timestamp = t
		}
	}
	if len(env.Data) > 0 && string(env.Data) != "null" {
		var d wireData
		if err := json.Unmarshal(env.Data, &d); err != nil {
			return nil, fmt.Errorf("%w: data: %v", ErrMalformedEvent, err)
		}
		id := d.ID
		if id == "" {
			id = d.Name
		}
		ev.Resource = resourceName(env.Type, id)
		ev.Data = EventData{
			OutputFileURI: d.OutputFileURI,
			FileName:      d.FileName,
			VideoURI:      d.VideoURI,
			ErrorCode:     errorCode(d.ErrorCode),
			ErrorMessage:  d.ErrorMessage,
			Raw:           env.Data,
		}
		if ev.UserMetadata == nil {
			ev.UserMetadata = d.UserMetadata
		}
	}
	return ev, nil
}

// errorCode keeps a number in its decimal text and unquotes a string.
func errorCode(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
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
