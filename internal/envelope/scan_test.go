package envelope

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzObjectMembers checks Members against encoding/json: it accepts
// exactly the objects encoding/json reads, and each name's last value is
// the same.
func FuzzObjectMembers(f *testing.F) {
	f.Add(`{"type":"batch.succeeded","version":"v1","data":{"id":"batches/abc","output_file_uri":"gs://b/o.jsonl"}}`)
	f.Add(`{"a":1,"a":[1,{"b":"}"}],"\u0061":"x\"y"}`)
	f.Add(` { "t" : true , "n":null,"e":{}, "s":"\\"} `)
	f.Add(`[1]`)
	f.Add(`{"a":1}x`)
	f.Fuzz(func(t *testing.T, doc string) {
		var want map[string]json.RawMessage
		werr := json.Unmarshal([]byte(doc), &want)
		ms, err := Members(nil, []byte(doc))
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
			for _, m := range ms {
				if string(m.Key([]byte(doc))) == name {
					got, found = m.Value.Raw([]byte(doc)), true
				}
			}
			if !found || !bytes.Equal(got, bytes.TrimSpace(v)) {
				t.Fatalf("%q: %q, want %q", name, got, v)
			}
		}
	})
}

func TestMembersRefuses(t *testing.T) {
	for _, doc := range []string{
		``, ` `, `null`, `true`, `"s"`, `12`, `[]`, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":+1}`, `{"a":tru}`, `{"a":nul}`, `{"a":[1,]}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":"unterminated}`, `{'a':1}`, `{"a":1}}`, `{"a":1} x`,
		`{"a":NaN}`, `{"a":Infinity}`, "\ufeff{}",
	} {
		if _, err := Members(nil, []byte(doc)); err == nil {
			t.Errorf("Members(%q) accepted it", doc)
		}
		var e Event
		if err := e.Scan([]byte(doc)); err == nil {
			t.Errorf("Event.Scan(%q) accepted it", doc)
		}
		if json.Valid([]byte(doc)) && strings.HasPrefix(strings.TrimSpace(doc), "{") {
			t.Errorf("%q is a JSON object; the test case is wrong", doc)
		}
	}
	for doc, want := range map[string]error{
		`[1]`:    ErrNotObject,
		`"s"`:    ErrNotObject,
		`{"a":}`: ErrSyntax,
		strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001): ErrDepth,
		strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001):           ErrDepth,
	} {
		if _, err := Members(nil, []byte(doc)); !errors.Is(err, want) {
			t.Errorf("Members(%.20q): %v, want %v", doc, err, want)
		}
	}
	deep := strings.Repeat(`{"a":`, 9999) + `1` + strings.Repeat(`}`, 9999)
	if _, err := Members(nil, []byte(deep)); err != nil || !json.Valid([]byte(deep)) {
		t.Fatalf("nesting within encoding/json's limit refused: %v", err)
	}
}

// Names are matched after their escapes are decoded, and values are
// texts of the document.
func TestMembers(t *testing.T) {
	doc := []byte(`{"\u0074ype":"a\nb","n":-1.5e3,"o":{"x":[1]},"t":"plain","t":"é"}`)
	ms, err := Members(make([]Member, 0, 1), doc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, string(m.Key(doc))+"="+string(m.Value.Raw(doc))+"|"+m.Value.Text(doc)+"|"+string(m.Value.Kind(doc)))
	}
	want := []string{`type="a\nb"|a` + "\n" + `b|"`, `n=-1.5e3||-`, `o={"x":[1]}||{`, `t="plain"|plain|"`, `t="é"|é|"`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if !ms[3].Value.Plain || ms[4].Value.Plain || ms[0].Value.Plain {
		t.Fatal("Plain marks exactly the strings without escapes or non-ASCII bytes")
	}
	var absent Span
	if absent.Kind(doc) != 0 || absent.Text(doc) != "" || len(absent.Raw(doc)) != 0 {
		t.Fatal("the zero Span is not absent")
	}
}

// hasSpecial agrees with the byte table on every byte value in every
// position, and on random words.
func TestHasSpecial(t *testing.T) {
	check := func(w [8]byte) {
		want := false
		for _, c := range w {
			want = want || special[c]
		}
		if got := hasSpecial(binary.LittleEndian.Uint64(w[:])); got != want {
			t.Fatalf("hasSpecial(%q) = %v, want %v", w[:], got, want)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			w := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			w[pos] = byte(c)
			check(w)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		var w [8]byte
		x := rng.Uint64()
		binary.LittleEndian.PutUint64(w[:], x)
		check(w)
		binary.LittleEndian.PutUint64(w[:], x&0x7f7f7f7f7f7f7f7f|0x2020202020202020) // printable ASCII mostly
		check(w)
	}
}
