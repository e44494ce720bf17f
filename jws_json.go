package gemhook

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sameJSON reports whether two JSON values are equal as data: objects by
// their members (exact names, the last of repeated names winning) whatever
// their order, strings by their decoded text, numbers by value. Identical
// bytes, the usual case, cost one comparison.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, ok1 := decodeJSON(a)
	vb, ok2 := decodeJSON(b)
	return ok1 && ok2 && sameValue(va, vb)
}

func decodeJSON(raw json.RawMessage) (any, bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		return ok && sameNumber(string(x), string(y))
	case string, bool, nil:
		return a == b
	}
	return false
}

// sameNumber compares integers by their text (JSON has no leading zeros, so
// the text is canonical but for "-0") and other numbers as float64, without
// ever building an arbitrary-precision value from attacker-sized exponents.
func sameNumber(a, b string) bool {
	if a == b {
		return true
	}
	intLike := func(s string) bool { return !strings.ContainsAny(s, ".eE") }
	if intLike(a) && intLike(b) {
		return (a == "0" || a == "-0") && (b == "0" || b == "-0")
	}
	fa, err1 := strconv.ParseFloat(a, 64)
	fb, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && fa == fb
}

// member is one top-level member of a JSON object: the key as its raw
// string token (quotes included) and the raw value.
type member struct{ key, val []byte }

// is reports whether the key is name, escapes decoded as encoding/json
// decodes them.
func (m member) is(name string) bool {
	raw := m.key[1 : len(m.key)-1]
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw) == name
	}
	return jsonString(m.key) == name
}

// jsonString returns a JSON string's value, or "" for any other value.
func jsonString(v []byte) string {
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	if raw := v[1 : len(v)-1]; bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw)
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// topMembers appends the members of the JSON object doc to dst. It
// follows only strings and brackets and checks every bound, so it never
// fails on hostile input, but it does not check the full grammar: when
// doc is valid JSON its members are exactly encoding/json's; when it is
// not, the caller must not rely on the split. (The claims it reads are
// signed, and a body that is not valid JSON is refused by decodeEvent
// right after authentication; values compared by sameJSON are decoded in
// full when their bytes differ.)
func topMembers(doc []byte, dst []member) ([]member, bool) {
	i := skipSpace(doc, 0)
	if i >= len(doc) || doc[i] != '{' {
		return nil, false
	}
	i = skipSpace(doc, i+1)
	for i < len(doc) && doc[i] != '}' {
		if doc[i] != '"' {
			return nil, false
		}
		k := endOfValue(doc, i, 0)
		if k < 0 {
			return nil, false
		}
		key := doc[i:k]
		i = skipSpace(doc, k)
		if i >= len(doc) || doc[i] != ':' {
			return nil, false
		}
		i = skipSpace(doc, i+1)
		v := endOfValue(doc, i, 0)
		if v < 0 || v == i {
			return nil, false
		}
		dst = append(dst, member{key: key, val: doc[i:v]})
		i = skipSpace(doc, v)
		if i < len(doc) && doc[i] == ',' {
			i = skipSpace(doc, i+1)
			if i < len(doc) && doc[i] == '}' {
				return nil, false
			}
		} else if i < len(doc) && doc[i] != '}' {
			return nil, false
		}
	}
	if i >= len(doc) || skipSpace(doc, i+1) != len(doc) {
		return nil, false
	}
	return dst, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// maxJSONDepth bounds nesting like encoding/json does.
const maxJSONDepth = 10000

// endOfValue returns the index just past the value at i, or -1 if it runs
// off the end of b.
func endOfValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		for i++; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return -1
	case '{', '[':
		if depth >= maxJSONDepth {
			return -1
		}
		open, closer := b[i], byte('}')
		if open == '[' {
			closer = ']'
		}
		for i++; i < len(b); {
			switch c := b[i]; {
			case c == closer:
				return i + 1
			case c == '"' || c == '{' || c == '[':
				if i = endOfValue(b, i, depth+1); i < 0 {
					return -1
				}
			case c == '}' || c == ']':
				return -1
			default:
				i++
			}
		}
		return -1
	}
	for i < len(b) && !strings.ContainsRune(",}] \t\n\r", rune(b[i])) {
		i++
	}
	return i
}
