package gemhook

import (
	"bytes"
	"log"
	"os"
	"os/exec"
	"strings"
	"testing"

	"google.golang.org/genai"
)

// genai's notice about GenerateVideosFromSource never reaches the log. It
// is printed once per process, so the check runs in a fresh one.
func TestGenerateVideosLogsNoGenAINotice(t *testing.T) {
	if os.Getenv("GEMHOOK_NOTICE_CHILD") == "" {
		// Only the child touches the process's logger, so the parent may
		// run alongside other tests. The child's exit need not wait for
		// late race reports: it runs one test, and that test's goroutines
		// have ended by the time it exits.
		t.Parallel()
		cmd := exec.Command(os.Args[0], "-test.run=^TestGenerateVideosLogsNoGenAINotice$", "-test.v")
		cmd.Env = append(os.Environ(), "GEMHOOK_NOTICE_CHILD=1", "GORACE=atexit_sleep_ms=0")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestGenerateVideosLogsNoGenAINotice") {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr)
	fx := newClientFixture(t, noPolls)
	// The fake answers 501: what matters is that genai was called.
	_, _ = fx.c.GenerateVideos(waitCtx(t), "veo", &genai.GenerateVideosSource{Prompt: "a boat"}, nil).Wait(waitCtx(t))
	if strings.Contains(logged.String(), "GenerateVideos") {
		t.Fatalf("genai's notice reached the log: %q", logged.String())
	}
}
