package envelope

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Equal reports whether two JSON values are equal as data: objects by
// their members (exact names, the last of repeated names winning) whatever
// their order, strings by their decoded text, numbers by value. Identical
// bytes, the usual case, cost one comparison. A value that is not valid
// JSON equals nothing.
func Equal(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	va, ok1 := decodeAny(a)
	vb, ok2 := decodeAny(b)
	return ok1 && ok2 && sameValue(va, vb)
}

func decodeAny(raw []byte) (any, bool) {
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
