package gemhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// refDecode is decodeEvent written the slow, obvious way with
// encoding/json: members by exact key, last one wins, and a known member of
// an unexpected type reads as absent. The fast decoder must agree with it.
func refDecode(body []byte) (*Event, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if !json.Valid(body) || len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, ErrMalformedEvent
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	str := func(raw json.RawMessage) string {
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return s
	}
	obj := func(raw json.RawMessage) map[string]any {
		if len(raw) == 0 || raw[0] != '{' {
			return nil
		}
		var m map[string]any
		json.Unmarshal(raw, &m)
		return m
	}
	ev := &Event{Raw: body, Type: str(top["type"]), UserMetadata: obj(top["user_metadata"])}
	if t, err := time.Parse(time.RFC3339Nano, str(top["timestamp"])); err == nil {
		ev.Timestamp = t
	}
	if raw := top["data"]; len(raw) > 0 && raw[0] == '{' {
		var d map[string]json.RawMessage
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, err
		}
		id := str(d["id"])
		if id == "" {
			id = str(d["name"])
		}
		ev.Resource = resourceName(ev.Type, id)
		ev.Data = EventData{
			OutputFileURI: str(d["output_file_uri"]),
			FileName:      str(d["file_name"]),
			VideoURI:      str(d["video_uri"]),
			ErrorMessage:  str(d["error_message"]),
			Raw:           raw,
		}
		switch c := d["error_code"]; {
		case len(c) == 0 || string(c) == "null":
		case c[0] == '"':
			ev.Data.ErrorCode = str(c)
		default:
			ev.Data.ErrorCode = string(c)
		}
		if ev.UserMetadata == nil {
			ev.UserMetadata = obj(d["user_metadata"])
		}
	}
	return ev, nil
}

// sameEvent compares two decodings; Data.Raw by content.
func sameEvent(a, b *Event) bool {
	if !bytes.Equal(a.Data.Raw, b.Data.Raw) {
		return false
	}
	x, y := *a, *b
	x.Data.Raw, y.Data.Raw = nil, nil
	return reflect.DeepEqual(x, y)
}

func TestDecodeEvent(t *testing.T) {
	ts := time.Date(2026, 1, 22, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, body string
		want       Event
	}{
		{"guide sample", `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-22T12:00:00Z","data":{"id":"batch_123456","output_file_uri":"gs://my-bucket/results.jsonl"}}`,
			Event{Type: "batch.succeeded", Timestamp: ts, Resource: "batches/batch_123456", Data: EventData{OutputFileURI: "gs://my-bucket/results.jsonl"}}},
		{"full batch name", `{"type":"batch.expired","data":{"id":"batches/xyz"}}`,
			Event{Type: "batch.expired", Resource: "batches/xyz"}},
		{"name instead of id", `{"type":"batch.cancelled","data":{"name":"batches/n1"}}`,
			Event{Type: "batch.cancelled", Resource: "batches/n1"}},
		{"failed, numeric code", `{"type":"batch.failed","data":{"id":"b","error_code":3,"error_message":"bad input"}}`,
			Event{Type: "batch.failed", Resource: "batches/b", Data: EventData{ErrorCode: "3", ErrorMessage: "bad input"}}},
		{"failed, string code", `{"type":"interaction.failed","data":{"id":"i","error_code":"INVALID_ARGUMENT"}}`,
			Event{Type: "interaction.failed", Resource: "interactions/i", Data: EventData{ErrorCode: "INVALID_ARGUMENT"}}},
		{"video, all three fields", `{"type":"video.generated","data":{"id":"models/veo-3/operations/op1","output_file_uri":"gs://o","file_name":"files/f","video_uri":"https://v"}}`,
			Event{Type: "video.generated", Resource: "models/veo-3/operations/op1", Data: EventData{OutputFileURI: "gs://o", FileName: "files/f", VideoURI: "https://v"}}},
		{"bare video id kept", `{"type":"video.generated","data":{"id":"op1"}}`,
			Event{Type: "video.generated", Resource: "op1"}},
		{"metadata at the top", `{"type":"interaction.completed","user_metadata":{"tenant":"a"},"data":{"id":"i","user_metadata":{"tenant":"b"}}}`,
			Event{Type: "interaction.completed", Resource: "interactions/i", UserMetadata: map[string]any{"tenant": "a"}}},
		{"metadata under data", `{"type":"interaction.completed","data":{"id":"i","user_metadata":{"n":1}}}`,
			Event{Type: "interaction.completed", Resource: "interactions/i", UserMetadata: map[string]any{"n": 1.0}}},
		{"escapes", `{"type":"batch.failed","data":{"id":"b","error_message":"line\nquote\" \u00e9 \ud83d\ude00"}}`,
			Event{Type: "batch.failed", Resource: "batches/b", Data: EventData{ErrorMessage: "line\nquote\" é 😀"}}},
		{"escaped key", `{"\u0074ype":"batch.expired"}`, Event{Type: "batch.expired"}},
		{"last key wins", `{"type":"a.x","type":"batch.expired","data":{"id":"1"},"data":{"id":"2"}}`,
			Event{Type: "batch.expired", Resource: "batches/2"}},
		{"wrong types read as absent", `{"type":7,"timestamp":false,"user_metadata":[1],"data":{"id":{"x":1},"name":"batches/n","output_file_uri":null}}`,
			Event{Resource: "batches/n"}},
		{"keys match exactly", `{"Type":"batch.expired","TYPE":"x"}`, Event{}},
		{"bad timestamp ignored", `{"type":"batch.expired","timestamp":"yesterday"}`, Event{Type: "batch.expired"}},
		{"unknown everything", `{"type":"new.thing","version":"v2","extra":[1,{"a":null}],"data":{"id":"z","more":true}}`,
			Event{Type: "new.thing", Resource: "z"}},
		{"whitespace around", " \n{ \"type\" : \"batch.expired\" } \t", Event{Type: "batch.expired"}},
		{"metadata number out of range", `{"type":"x","user_metadata":{"big":1e400,"gemhook_token":"t"}}`,
			Event{Type: "x", UserMetadata: map[string]any{"big": nil, "gemhook_token": "t"}}},
		{"metadata number out of range under data", `{"type":"x","data":{"user_metadata":{"n":[-1e999]}}}`,
			Event{Type: "x", UserMetadata: map[string]any{"n": []any{nil}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeEvent([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			c.want.Raw = []byte(c.body)
			got.Data.Raw = nil
			if !reflect.DeepEqual(*got, c.want) {
				t.Fatalf("got  %+v\nwant %+v", *got, c.want)
			}
			ref, err := refDecode([]byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ = decodeEvent([]byte(c.body))
			if !sameEvent(got, ref) {
				t.Fatalf("disagrees with encoding/json:\n got %+v\n ref %+v", got, ref)
			}
		})
	}
}

// refToken is the token of body as encoding/json reads it (refDecode).
func refToken(t *testing.T, body string) string {
	t.Helper()
	ev, err := refDecode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ev.UserMetadata[TokenKey].(string)
	return s
}

func TestEventToken(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"type":"x","user_metadata":{"gemhook_token":"t1","tenant":"a"}}`, "t1"},
		{`{"type":"x","user_metadata":{"tenant":"a"}}`, ""},
		{`{"type":"x"}`, ""},
		{`{"type":"x","data":{"user_metadata":{"gemhook_token":"under-data"}}}`, "under-data"},
		{`{"type":"x","user_metadata":{"a":1},"data":{"user_metadata":{"gemhook_token":"d"}}}`, ""},
		{`{"type":"x","user_metadata":{"gemhook_token":"first","gemhook_token":"last"}}`, "last"},
		{`{"type":"x","user_metadata":{"gemhook_token":"t","gemhook_token":7}}`, ""},
		{`{"type":"x","user_metadata":{"\u0067emhook_token":"escaped key"}}`, "escaped key"},
		{`{"type":"x","user_metadata":{"gemhook_token":"a\u00e9\n"}}`, "a\u00e9\n"},
		{`{"type":"x","user_metadata":{"Gemhook_Token":"case"}}`, ""},
		{`{"type":"x","user_metadata":{"n":{"gemhook_token":"nested"}}}`, ""},
		{`{"type":"x","user_metadata":{"big":1e400,"gemhook_token":"t"}}`, "t"},
		{`{"type":"x","user_metadata":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"gemhook_token":"tenth"}}`, "tenth"},
	} {
		ev, err := decodeEvent([]byte(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.token(); got != c.want {
			t.Errorf("%s: token %q, want %q", c.body, got, c.want)
		}
		if ref := refToken(t, c.body); ref != c.want {
			t.Errorf("%s: encoding/json reads %q; the test case is wrong", c.body, ref)
		}
	}
	// Events built by hand (tests of OnEvent handlers) may carry anything.
	for _, m := range []map[string]any{nil, {}, {TokenKey: 7}, {TokenKey: []any{"t"}}, {"Gemhook_Token": "t"}} {
		if got := (&Event{UserMetadata: m}).token(); got != "" {
			t.Errorf("metadata %v: token %q", m, got)
		}
	}
}

// The token outlives the event in the hub's orphans: it must not share
// memory with the body, nor with the metadata's one copy of its strings,
// which it would keep alive.
func TestEventTokenCopied(t *testing.T) {
	body := []byte(`{"type":"x","user_metadata":{"gemhook_token":"tok","tenant":"a"}}`)
	ev, err := decodeEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	tok := ev.token()
	copy(body, bytes.Repeat([]byte{' '}, len(body)))
	if tok != "tok" {
		t.Fatalf("token changed with the body: %q", tok)
	}
	if unsafe.StringData(tok) == unsafe.StringData(ev.UserMetadata[TokenKey].(string)) {
		t.Fatal("the token shares the metadata's bytes")
	}
}

func TestDecodeEventData(t *testing.T) {
	body := `{"type":"batch.succeeded","data": {"id":"b", "x":[1,2]} }`
	ev, err := decodeEvent([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.Data.Raw) != `{"id":"b", "x":[1,2]}` {
		t.Fatalf("Data.Raw %q", ev.Data.Raw)
	}
	if cap(ev.Data.Raw) != len(ev.Data.Raw) {
		t.Fatal("Data.Raw can be appended into the body")
	}
}

// An event's strings may outlive its body (the hub keeps an orphan's type
// and error text for minutes, ten thousand of them): they must not pin a
// large body in memory.
func TestEventStringsDoNotPinBody(t *testing.T) {
	const events, pad = 64, 256 << 10
	keep := make([]string, 0, 3*events)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range events {
		body := `{"type":"batch.failed","pad":"` + strings.Repeat("p", pad) +
			`","data":{"id":"batches/b` + strconv.Itoa(i) + `","error_code":7,"error_message":"m"}}`
		ev, err := decodeEvent([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		keep = append(keep, ev.Type, ev.Resource, ev.Data.ErrorCode)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > events*pad/4 {
		t.Fatalf("%d events' strings hold %d KiB of heap", events, grown>>10)
	}
	runtime.KeepAlive(keep)
}

func TestDecodeEventMalformed(t *testing.T) {
	for _, body := range []string{
		``, ` `, `null`, `true`, `"s"`, `12`, `[]`, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`, `{"a":[1,]}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":"unterminated}`, `{'a':1}`, `{"a":1}}`, `{"a":1} x`,
		`{"a":NaN}`, `{"a":Infinity}`, "\ufeff{}", strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001),
	} {
		_, err := decodeEvent([]byte(body))
		if !errors.Is(err, ErrMalformedEvent) {
			t.Errorf("decodeEvent(%.40q) = %v, want ErrMalformedEvent", body, err)
		}
		if json.Valid([]byte(body)) && strings.HasPrefix(strings.TrimSpace(body), "{") {
			t.Errorf("%.40q is a JSON object; the test case is wrong", body)
		}
	}
	deep := strings.Repeat(`{"a":`, 9999) + `1` + strings.Repeat(`}`, 9999)
	if _, err := decodeEvent([]byte(deep)); err != nil || !json.Valid([]byte(deep)) {
		t.Fatalf("nesting within encoding/json's limit refused: %v", err)
	}
}

// BenchmarkDecodeEvent decodes each body of testdata/events: the part of
// Verify that is not the HMAC.
func BenchmarkDecodeEvent(b *testing.B) {
	for _, bb := range benchBodies(b) {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				if ev, err := decodeEvent(bb.body); err != nil || ev.Resource == "" {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzDecodeEvent checks the hand-written envelope scanner against
// encoding/json: the same bodies are accepted, and they decode the same.
func FuzzDecodeEvent(f *testing.F) {
	for _, s := range []string{
		eventBody, vecBody, `{}`, `[]`, `null`, `{"type":"batch.failed","data":{"id":"b","error_code":-1.5e3}}`,
		`{"type":"x","user_metadata":{"a":[1,"b",null]},"data":{"name":"n","user_metadata":{}}}`,
		`{"type":"x","user_metadata":{"gemhook_token":"t","\u0067emhook_token":"u\u00e9"}}`,
		`{"\u0074ype":"batch.expired","type":"a\ud800b"}`, "{\"type\":\"\xff\xfe\"}", `{"a":[[[[]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeEvent(body)
		ref, rerr := refDecode(body)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("%.60q: decodeEvent err %v, encoding/json err %v", body, err, rerr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformedEvent) {
				t.Fatalf("error %v is not ErrMalformedEvent", err)
			}
			return
		}
		// The token is read from UserMetadata, which this compares.
		if !sameEvent(got, ref) {
			t.Fatalf("%.60q:\n got %+v\n ref %+v", body, got, ref)
		}
	})
}
