package signature

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckID(t *testing.T) {
	for _, id := range []string{"msg_p5jXN8AQM9LWM0D4loKWxJek", "a", strings.Repeat("x", MaxIDLen), "ü-ok"} {
		if err := CheckID(id); err != nil {
			t.Errorf("CheckID(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"", "a.b", ".", strings.Repeat("x", MaxIDLen+1), "a b", "a\tb", "a\x00", "a\x7f"} {
		if err := CheckID(id); !errors.Is(err, ErrBadID) {
			t.Errorf("CheckID(%q) = %v, want ErrBadID", id, err)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	good := map[string]int64{"1": 1, "1614265330": 1614265330, "9223372036854775807": 1<<63 - 1}
	for s, want := range good {
		if got, err := ParseTimestamp(s); err != nil || got != want {
			t.Errorf("ParseTimestamp(%q) = %d, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "0", "01", "+1", "-1", " 1", "1 ", "1.0", "1e3", "0x10", "9223372036854775808", "99999999999999999999", "hello", "١٢٣"} {
		if _, err := ParseTimestamp(s); !errors.Is(err, ErrBadTimestamp) {
			t.Errorf("ParseTimestamp(%q) = %v, want ErrBadTimestamp", s, err)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList("v1,AAA  v1a,BBB\tv2,CCC junk a.b.c v1,")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{SchemeV1, "AAA"}, {SchemeV1a, "BBB"}, {SchemeUnknown, "CCC"}, {SchemeUnknown, "junk"}, {SchemeJWS, "a.b.c"}, {SchemeV1, ""}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := ParseList(strings.Repeat("v1,x ", MaxEntries+1)); !errors.Is(err, ErrTooMany) {
		t.Errorf("too many: %v", err)
	}
	if _, err := ParseList(strings.Repeat("v1,x ", MaxEntries)); err != nil {
		t.Errorf("MaxEntries entries: %v", err)
	}
	if _, err := ParseList(strings.Repeat(" ", MaxListLen+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("too long: %v", err)
	}
	for _, s := range []string{"", " ", "\t \n"} {
		if _, err := ParseList(s); !errors.Is(err, ErrEmptyList) {
			t.Errorf("ParseList(%q) = %v, want ErrEmptyList", s, err)
		}
	}
	buf := make([]Entry, 1, 8)
	out, err := AppendList(buf, "v1,a v1,b")
	if err != nil || len(out) != 3 || out[1].Value != "a" {
		t.Fatalf("AppendList = %v, %v", out, err)
	}
}

func TestSchemeString(t *testing.T) {
	for s, want := range map[Scheme]string{SchemeV1: "v1", SchemeV1a: "v1a", SchemeJWS: "jws", SchemeUnknown: "unknown"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}
