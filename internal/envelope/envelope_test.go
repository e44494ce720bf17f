package envelope

import (
	"strings"
	"testing"
)

// An Event records the envelope's fields and those of its last "data"
// object; the last of repeated names wins, and a "data" that is not an
// object leaves no data fields.
func TestEventFields(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       map[Field]string // Value of each field; others ""
	}{
		{"event", `{"type":"batch.failed","timestamp":"2026-01-02T03:04:05Z","data":{"id":"b","error_code":7,"error_message":"m\u00e9"},"user_metadata":{"k":"v"}}`,
			map[Field]string{Type: "batch.failed", Timestamp: "2026-01-02T03:04:05Z", Data: `{"id":"b","error_code":7,"error_message":"m\u00e9"}`,
				UserMetadata: `{"k":"v"}`, DataID: "b", DataErrorCode: "7", DataErrorMessage: "mé"}},
		{"last data wins whole", `{"data":{"id":"1","name":"n"},"data":{"id":"2"}}`,
			map[Field]string{Data: `{"id":"2"}`, DataID: "2"}},
		{"data not an object", `{"data":{"id":"1"},"data":[{"id":"2"}]}`,
			map[Field]string{Data: `[{"id":"2"}]`}},
		{"nested names are not fields", `{"x":{"type":"no","data":{"id":"no"}},"data":{"x":{"id":"no"}}}`,
			map[Field]string{Data: `{"x":{"id":"no"}}`}},
		{"data names at the top are not data fields", `{"id":"no","error_code":"no","type":"t"}`,
			map[Field]string{Type: "t"}},
		{"string and null code", `{"data":{"error_code":null,"error_message":"INVALID"}}`,
			map[Field]string{Data: `{"error_code":null,"error_message":"INVALID"}`, DataErrorMessage: "INVALID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Event
			if err := e.Scan([]byte(tc.body)); err != nil {
				t.Fatal(err)
			}
			e.Share(Type, Timestamp, DataID, DataErrorCode, DataErrorMessage)
			for f := range nFields {
				if got := e.Value(f); got != tc.want[f] {
					t.Errorf("field %d: %q, want %q", f, got, tc.want[f])
				}
			}
		})
	}
}

func TestEventTextAndObject(t *testing.T) {
	body := []byte(`{"type":7,"data":{"id":"i","user_metadata":{"a":1}},"user_metadata":"x"}`)
	var e Event
	if err := e.Scan(body); err != nil {
		t.Fatal(err)
	}
	if e.Text(Type) != "" || e.Value(Type) != "7" || e.Kind(Type) != '7' {
		t.Fatalf("a number: Text %q, Value %q", e.Text(Type), e.Value(Type))
	}
	if e.Object(UserMetadata) != nil || string(e.Object(DataUserMetadata)) != `{"a":1}` {
		t.Fatalf("Object: %q, %q", e.Object(UserMetadata), e.Object(DataUserMetadata))
	}
	if o := e.Object(Data); cap(o) != len(o) {
		t.Fatal("an Object can be appended into the body")
	}
	if e.Kind(Timestamp) != 0 {
		t.Fatal("an absent field has a kind")
	}
}

// Shared strings are copies: they survive the body, and several share
// one allocation.
func TestEventShare(t *testing.T) {
	body := []byte(`{"type":"batch.failed","data":{"id":"batches/b","error_code":-3,"error_message":"` + strings.Repeat("m", 100) + `"}}`)
	var e Event
	if err := e.Scan(body); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1, func() {
		var e Event
		e.Scan(body)
		e.Share(Type, DataID, DataErrorCode, DataErrorMessage)
		_, _, _ = e.Text(Type), e.Text(DataID), e.Value(DataErrorCode)
	})
	if allocs != 1 {
		t.Fatalf("%v allocations, want 1", allocs)
	}
	e.Share(Type, DataID, DataErrorCode)
	typ, id, code, msg := e.Text(Type), e.Text(DataID), e.Value(DataErrorCode), e.Text(DataErrorMessage)
	for i := range body {
		body[i] = ' '
	}
	if typ != "batch.failed" || id != "batches/b" || code != "-3" || msg != strings.Repeat("m", 100) {
		t.Fatalf("values changed with the body: %q %q %q %q", typ, id, code, msg)
	}
}
