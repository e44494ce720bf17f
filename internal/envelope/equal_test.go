package envelope

import "testing"

func TestEqual(t *testing.T) {
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
		{`null`, `false`, false},
		{`{"a":`, `{"a":1}`, false},
	} {
		if got := Equal([]byte(tc.a), []byte(tc.b)); got != tc.want {
			t.Errorf("Equal(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}
