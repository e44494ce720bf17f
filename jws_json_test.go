package gemhook

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzObjectMembers checks the scanner's member split, which the JWS claim
// checks use, against encoding/json: it accepts exactly the objects
// encoding/json reads, and each name's last value is the same.
func FuzzObjectMembers(f *testing.F) {
	f.Add(ksBody)
	f.Add(`{"a":1,"a":[1,{"b":"}"}],"\u0061":"x\"y"}`)
	f.Add(` { "t" : true , "n":null,"e":{}, "s":"\\"} `)
	f.Add(`[1]`)
	f.Add(`{"a":1}x`)
	f.Fuzz(func(t *testing.T, doc string) {
		var want map[string]json.RawMessage
		werr := json.Unmarshal([]byte(doc), &want)
		s := scanner{b: []byte(doc)}
		fs, err := s.document(nil)
		if werr != nil || want == nil {
			if err == nil {
				t.Fatalf("accepted %q, which encoding/json refuses as an object", doc)
			}
			return
		}
		if err != nil {
			t.Fatalf("refused a JSON object: %v", err)
		}
		for name, v := range want {
			var got []byte
			found := false
			for _, f := range fs {
				if string(s.key(f.key)) == name {
					got, found = s.b[f.val.start:f.val.end], true
				}
			}
			if !found || !bytes.Equal(got, bytes.TrimSpace(v)) {
				t.Fatalf("%q: %q, want %q", name, got, v)
			}
		}
	})
}

func TestSameJSON(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[true,null,"x"]}`, `{"b":[true,null,"x"],"a":1}`, true},
		{`{"a":"\u0078"}`, `{"a":"x"}`, true},
		{`1.0`, `1`, true},
		{`-0`, `0`, true},
		{`1e2`, `100`, true},
		{`9007199254740993`, `9007199254740992`, false},
		{`{"a":1}`, `{"a":1,"b":2}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`"1"`, `1`, false},
		{`1e999`, `1e999`, true}, // same text
		{`1e999`, `2e999`, false},
		{`{"a":1,"a":2}`, `{"a":2}`, true},
	} {
		if got := sameJSON([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("sameJSON(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
