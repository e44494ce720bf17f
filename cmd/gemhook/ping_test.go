package main

import "testing"

// Another webhook's ping (Gemini retries them for hours) is not this one's.
func TestIsPingNamesItsWebhook(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ, resource string
		want          bool
	}{
		{"webhook.ping", "b", true},
		{"webhook.ping", "webhooks/b", true},
		{"webhook.ping", "", true},
		{"webhook.ping", "a", false},
		{"batch.succeeded", "batches/x", false},
	} {
		if got := isPing(c.typ, c.resource, "b"); got != c.want {
			t.Errorf("isPing(%q, %q, b) = %v", c.typ, c.resource, got)
		}
	}
}
