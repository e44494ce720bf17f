package gemhooktest

import (
	"math"
	"strings"
	"testing"
)

// Every route is reachable, with the argument its handler expects; anything
// else matches no route, whatever the method.
func TestFindRoute(t *testing.T) {
	t.Parallel()
	type want struct{ op, arg string }
	cases := []struct {
		method, path string
		want         want
	}{
		{"POST", "/v1beta/models/gemini-2.5-flash:batchGenerateContent", want{"batches.create", "gemini-2.5-flash"}},
		{"POST", "/v1/models/veo-3.0:predictLongRunning", want{"videos.create", "veo-3.0"}},
		{"GET", "/v1alpha/models/veo/operations/op1", want{"operations.get", "models/veo/operations/op1"}},
		{"GET", "/v1beta/batches", want{"batches.list", ""}},
		{"GET", "/v1beta/batches/b1", want{"batches.get", "batches/b1"}},
		{"DELETE", "/v1beta/batches/b1", want{"batches.delete", "batches/b1"}},
		{"POST", "/v1beta/batches/b1:cancel", want{"batches.cancel", "batches/b1"}},
		{"POST", "/v1beta/interactions", want{"interactions.create", ""}},
		{"GET", "/v1beta/interactions/i1", want{"interactions.get", "i1"}},
		{"DELETE", "/v1beta/interactions/i1", want{"interactions.delete", "i1"}},
		{"POST", "/v1beta/interactions/i1/cancel", want{"interactions.cancel", "i1"}},
		{"POST", "/v1beta/webhooks", want{"webhooks.create", ""}},
		{"GET", "/v1beta/webhooks", want{"webhooks.list", ""}},
		{"GET", "/v1beta/webhooks/w1", want{"webhooks.get", "w1"}},
		{"PATCH", "/v1beta/webhooks/w1", want{"webhooks.update", "w1"}},
		{"DELETE", "/v1beta/webhooks/w1", want{"webhooks.delete", "w1"}},
		{"POST", "/v1beta/webhooks/w1:ping", want{"webhooks.ping", "w1"}},
		{"POST", "/v1beta/webhooks/w1:rotateSigningSecret", want{"webhooks.rotate", "w1"}},
		{"POST", "/v1beta/webhooks/w1/rotate_secret", want{"webhooks.rotate", "w1"}},
		{"GET", "/v1beta/files/f1:download", want{"files.download", "f1"}},

		// Wrong methods.
		{"PUT", "/v1beta/batches/b1", want{}},
		{"GET", "/v1beta/batches/b1:cancel", want{}},
		{"POST", "/v1beta/batches", want{}},
		{"GET", "/v1beta/models/m:batchGenerateContent", want{}},
		{"POST", "/v1beta/interactions/i1", want{}},
		{"DELETE", "/v1beta/webhooks/w1:ping", want{}},
		{"POST", "/v1beta/files/f1:download", want{}},
		// Unknown or malformed paths.
		{"GET", "/batches", want{}},
		{"GET", "/v2/batches", want{}},
		{"GET", "/v1beta/", want{}},
		{"GET", "/v1beta/batches/", want{}},
		{"GET", "/v1beta/batches/b1/x", want{}},
		{"POST", "/v1beta/batches/b1:pause", want{}},
		{"POST", "/v1beta/batches/:cancel", want{}},
		{"POST", "/v1beta/models/:batchGenerateContent", want{}},
		{"POST", "/v1beta/models/m:other", want{}},
		{"GET", "/v1beta/models//operations/op1", want{}},
		{"GET", "/v1beta/models/veo/operations/", want{}},
		{"POST", "/v1beta/interactions//cancel", want{}},
		{"GET", "/v1beta/interactions/i1:cancel", want{}},
		{"POST", "/v1beta/webhooks/w1:rotateSigningSecret/x", want{}},
		{"GET", "/v1beta/files/f1", want{}},
		{"GET", "/v1beta/operations/op1", want{}},
	}
	reached := map[*route]bool{}
	for _, tc := range cases {
		rt, arg := findRoute(tc.method, tc.path)
		var got want
		if rt != nil {
			got, reached[rt] = want{rt.op, arg}, true
		}
		if got != tc.want {
			t.Errorf("%s %s: %+v, want %+v", tc.method, tc.path, got, tc.want)
		}
	}
	// A route shadowed by an earlier one would never be reached.
	for i := range routes {
		if !reached[&routes[i]] {
			t.Errorf("no case reaches %s %s", routes[i].method, routes[i].pattern)
		}
	}
}

// Start refuses a fault share that is not one, and names the field.
func TestStartRefusesBadShares(t *testing.T) {
	t.Parallel()
	for _, f := range []Faults{{DropRate: -0.1}, {DropRate: 1.5}, {EarlyRate: 2}, {EarlyRate: math.NaN()}} {
		s, err := Start(Options{Faults: f})
		if err == nil {
			s.Close()
			t.Errorf("Start accepted %+v", f)
			continue
		}
		if !strings.Contains(err.Error(), "Options.Faults.") {
			t.Errorf("Start(%+v): %v", f, err)
		}
	}
}
