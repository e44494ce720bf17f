package signature

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseList: never panics, respects its caps, and returns exactly the
// space-separated fields, classified by their shape.
func FuzzParseList(f *testing.F) {
	f.Add("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	f.Add("v1,a v1a,b v2,c d e.f.g")
	f.Add(strings.Repeat("v1,x ", 20))
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		entries, err := ParseList(h)
		fields := strings.FieldsFunc(h, func(r rune) bool { return r < 0x80 && strings.ContainsRune(" \t\n\v\f\r", r) })
		switch {
		case len(h) > MaxListLen:
			if err != ErrTooLong {
				t.Fatalf("len %d: %v", len(h), err)
			}
			return
		case len(fields) > MaxEntries:
			if err != ErrTooMany {
				t.Fatalf("%d fields: %v", len(fields), err)
			}
			return
		case len(fields) == 0:
			if err != ErrEmptyList {
				t.Fatalf("no fields: %v", err)
			}
			return
		}
		if err != nil || len(entries) != len(fields) {
			t.Fatalf("ParseList(%q) = %v, %v", h, entries, err)
		}
		for i, e := range entries {
			v, val, ok := strings.Cut(fields[i], ",")
			var want Entry
			switch {
			case !ok && strings.Count(fields[i], ".") == 2:
				want = Entry{SchemeJWS, fields[i]}
			case !ok:
				want = Entry{SchemeUnknown, fields[i]}
			case v == "v1":
				want = Entry{SchemeV1, val}
			case v == "v1a":
				want = Entry{SchemeV1a, val}
			default:
				want = Entry{SchemeUnknown, val}
			}
			if e != want {
				t.Fatalf("field %q: %v, want %v", fields[i], e, want)
			}
		}
	})
}

var canonical = regexp.MustCompile(`^[1-9][0-9]{0,18}$`)

// FuzzParseTimestamp: accepts exactly the canonical decimal form that fits
// an int64, and round-trips through strconv.
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"1614265330", "+1", "01", "0", "9223372036854775807", "9223372036854775808", " 1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseTimestamp(s)
		ref, rerr := strconv.ParseInt(s, 10, 64)
		want := canonical.MatchString(s) && rerr == nil
		if (err == nil) != want {
			t.Fatalf("ParseTimestamp(%q) = %d, %v; want success %v", s, n, err, want)
		}
		if err != nil {
			if err != ErrBadTimestamp {
				t.Fatalf("error %v", err)
			}
			return
		}
		if n != ref || strconv.FormatInt(n, 10) != s {
			t.Fatalf("ParseTimestamp(%q) = %d", s, n)
		}
	})
}
