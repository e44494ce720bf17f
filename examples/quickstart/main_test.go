package main

import (
	"bytes"
	"context"
	"log"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestOffline runs the quickstart as `go run` does without an API key.
func TestOffline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	env := func(string) string { return "" }
	if err := run(ctx, &out, env); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"batches/", "JOB_STATE_SUCCEEDED", "/operations/", "interactions/", "completed",
		"a loop polling every 10s", "  10 minutes  ", "  1 hour  ", "  24 hours  "} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !regexp.MustCompile(`this run, \S+ +6 +6 `).MatchString(got) {
		t.Errorf("the measured run is not 6 calls beside the loop's 6:\n%s", got)
	}
	if logged.Len() > 0 {
		t.Errorf("the quickstart logged %q", logged.String())
	}
}

// The headline compares the job lengths users have: there the loop makes
// far more calls than gemhook, webhook and safety net included.
func TestComparisonOnLongJobs(t *testing.T) {
	for _, c := range []struct {
		d             time.Duration
		gemhook, loop int
	}{
		{300 * time.Millisecond, 2, 2},
		{10 * time.Minute, 3, 61},
		{time.Hour, 6, 361},
		{24 * time.Hour, 98, 8641},
	} {
		if g, l := gemhookCalls(c.d), loopCalls(c.d); g != c.gemhook || l != c.loop {
			t.Errorf("%v: gemhook %d, loop %d; want %d, %d", c.d, g, l, c.gemhook, c.loop)
		}
	}
}

func TestLiveNeedsPublicURL(t *testing.T) {
	env := func(k string) string {
		if k == "GEMINI_API_KEY" {
			return "k"
		}
		return ""
	}
	if err := run(context.Background(), &bytes.Buffer{}, env); err == nil || !strings.Contains(err.Error(), "GEMHOOK_PUBLIC_URL") {
		t.Fatalf("run = %v, want a hint about GEMHOOK_PUBLIC_URL", err)
	}
}
