package gemhooktest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/gemhook/gemhook/internal/eventtype"
)

// PingType is the type of the event a ping sends. Gemini does not document
// the ping's body; this name is the emulator's choice.
const PingType = "webhook.ping"

// event is one event ready to deliver: its webhook-id and body are fixed,
// so every attempt and copy carries the same bytes.
type event struct {
	id       string // webhook-id
	typ      string
	resource string // job name, or webhook id for a ping
	body     []byte
	uris     []string // per-request URIs; empty: project webhooks
	ping     string   // the webhook a ping goes to
}

type envelope struct {
	Type         string         `json:"type"`
	Version      string         `json:"version"`
	Timestamp    string         `json:"timestamp"`
	Data         eventData      `json:"data"`
	UserMetadata map[string]any `json:"user_metadata,omitempty"`
}

// eventData holds the snake_case members Google's event catalog lists.
type eventData struct {
	ID            string         `json:"id"`
	OutputFileURI string         `json:"output_file_uri,omitempty"`
	FileName      string         `json:"file_name,omitempty"`
	VideoURI      string         `json:"video_uri,omitempty"`
	ErrorCode     int            `json:"error_code,omitempty"`
	ErrorMessage  string         `json:"error_message,omitempty"`
	UserMetadata  map[string]any `json:"user_metadata,omitempty"`
}

// jobEvent builds the event for j's latest transition, or nil when the
// transition has none (cancellations under NoCancelEvents).
func (s *Server) jobEvent(j *job) *event {
	typ := eventType(j)
	if t, listed := eventtype.Lookup(typ); s.opts.NoCancelEvents && listed && !inEnum(t) {
		return nil
	}
	d := eventData{ID: s.dataID(j)}
	switch {
	case j.kind == kindVideo && j.outcome == Succeeded:
		uri := s.downloadURI(j.outputFile)
		if s.opts.VideoFileField != VideoURIOnly {
			d.FileName, d.OutputFileURI = j.outputFile, uri
		}
		if s.opts.VideoFileField != OutputFileURIOnly {
			d.VideoURI = uri
		}
	case j.outcome == Succeeded:
		d.OutputFileURI = j.outputFile
	case j.outcome == Failed || (j.kind != kindBatch && j.outcome == Expired) || (j.kind == kindVideo && j.outcome == Cancelled):
		d.ErrorCode, d.ErrorMessage = rpcCode(j.outcome), j.reason
	}
	return s.newEvent(typ, j.name, j.ended, d, j.metadata, j.uris)
}

func eventType(j *job) string {
	switch j.kind {
	case kindBatch:
		return "batch." + j.outcome
	case kindVideo:
		return "video.generated" // success or failure is read from the operation
	}
	switch j.outcome {
	case Succeeded:
		return "interaction.completed"
	case Cancelled:
		return "interaction.cancelled"
	case RequiresAction:
		return "interaction.requires_action"
	}
	return "interaction.failed"
}

// dataID is the job's full resource name, or its last segment with BareIDs.
func (s *Server) dataID(j *job) string {
	name := j.name
	if j.kind == kindInteraction {
		name = "interactions/" + j.name
	}
	if s.opts.BareIDs {
		return name[strings.LastIndexByte(name, '/')+1:]
	}
	return name
}

func (s *Server) newEvent(typ, resource string, at time.Time, d eventData, meta map[string]any, uris []string) *event {
	env := envelope{Type: typ, Version: "v1", Timestamp: timestamp(at), Data: d}
	if len(meta) > 0 {
		if s.opts.MetadataInData {
			env.Data.UserMetadata = meta
		} else {
			env.UserMetadata = meta
		}
	}
	body, err := json.Marshal(env)
	if err != nil {
		// user_metadata arrived as JSON, so it always encodes again.
		panic("gemhooktest: encoding an event: " + err.Error())
	}
	return &event{id: messageID(), typ: typ, resource: resource, body: body, uris: uris}
}
