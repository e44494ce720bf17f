package gemhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzWebhookHeaders builds header maps by hand, as serverless adapters
// do, with names in any case and any number of values, none included (a
// line "Name:" with nothing after). webhookHeaders must
// return a header's value exactly when it is present once under a single
// spelling, and refuse it otherwise.
func FuzzWebhookHeaders(f *testing.F) {
	f.Add("Webhook-Id: a\nWebhook-Timestamp: 1\nWebhook-Signature: v1,x\n")
	f.Add("Webhook-Id: a\nwebhook-id: b\nWebhook-Timestamp: 1\nWebhook-Signature: v1,x\n")
	f.Add("Webhook-Id: a\nWebhook-Timestamp: 1\nwebhook-timestamp: 2\nWebhook-Signature: v1,x\n")
	f.Add("Webhook-Id: a\nWebhook-Timestamp: 1\nWebhook-Signature: v1,x\nwebhook-signature: v1,y\n")
	f.Add("WEBHOOK-ID: a\nWebhook-Timestamp: 1\nWebhook-Timestamp: 1\nwebhook-SIGNATURE: v1,x\n")
	f.Add("webhook-idx: a\nWebhook-Timestamp: 1\nWebhook-Signature: v1,x\n")
	f.Add("Webhook-Id:\nwebhook-id: a\nWebhook-Timestamp: 1\nWebhook-Signature: v1,x\nwebhook-signature:\n")
	f.Fuzz(func(t *testing.T, lines string) {
		h := http.Header{}
		for line := range strings.SplitSeq(lines, "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok {
				h[k] = append(h[k], v)
			} else if k, ok := strings.CutSuffix(line, ":"); ok && h[k] == nil {
				h[k] = []string{}
			}
		}
		id, ts, sig, err := webhookHeaders(h)
		for i, name := range webhookHeaderNames {
			var vals []string
			for k, v := range h {
				if strings.EqualFold(k, name) {
					vals = append(vals, v...)
				}
			}
			got := [3]string{id, ts, sig}[i]
			switch {
			case len(vals) > 1 && !errors.Is(err, ErrInvalidHeader):
				t.Fatalf("%s present %d times: err %v", name, len(vals), err)
			case len(vals) == 0 && !errors.Is(err, ErrMissingHeader):
				t.Fatalf("%s absent: err %v", name, err)
			case err == nil && got != vals[0]:
				t.Fatalf("%s = %q, want %q", name, got, vals[0])
			}
			if err != nil && len(vals) != 1 {
				return // the first bad header is the one reported
			}
		}
	})
}
