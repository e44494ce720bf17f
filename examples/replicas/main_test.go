package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// The example runs end to end on whichever store the environment names
// (in memory when none), and every job settles by webhook.
func TestReplicas(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	if strings.Count(s, "JOB_STATE_SUCCEEDED after") != jobs {
		t.Fatalf("not every job settled:\n%s", s)
	}
	if os.Getenv("GEMHOOK_POSTGRES_URL") == "" && os.Getenv("GEMHOOK_REDIS_URL") == "" && !strings.Contains(s, "in-memory store") {
		t.Fatalf("no warning about the in-memory store:\n%s", s)
	}
	t.Log("\n" + s)
}
