package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestOffline runs the quickstart as `go run` does without an API key.
func TestOffline(t *testing.T) {
	t.Setenv("GOOGLE_GENAI_USE_VERTEXAI", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	env := func(string) string { return "" }
	if err := run(ctx, &out, env); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{"batches/", "JOB_STATE_SUCCEEDED", "/operations/", "interactions/", "completed", "API calls made: 6 for 3 jobs", "loop polling every 10 s"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
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
