package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeKey is an API key that must never appear in the CLI's output.
const fakeKey = "AIzaFAKE-gemhook-test-key-0123456789"

// buildCLI builds this command into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gemhook")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type binResult struct {
	code        int
	stdout, err string
}

// runBin runs the built binary with GEMINI_API_KEY set to fakeKey.
func runBin(t *testing.T, bin string, args ...string) binResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	env := []string{"GEMINI_API_KEY=" + fakeKey}
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_USE_VERTEXAI":
		default:
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", args, err)
	}
	return binResult{code, out.String(), errOut.String()}
}

// cliModes are invocations covering help, usage errors and failed calls,
// in text and JSON, for every command. Failed calls go to a closed
// loopback port.
func cliModes(t *testing.T) [][]string {
	dead := "http://" + freeAddr(t)
	modes := [][]string{{}, {"-h"}, {"help"}, {"frobnicate"}}
	for _, c := range commands {
		modes = append(modes,
			[]string{c.name, "-h"},
			[]string{c.name, "-no-such-flag"},
			[]string{c.name, "-json", "-no-such-flag"},
			[]string{c.name, "stray"},
			[]string{c.name, "-json", "stray"},
		)
	}
	for _, args := range [][]string{
		{"list", "-base-url", dead, "-timeout", "5s"},
		{"ensure", "-uri", "https://hooks.example/x", "-base-url", dead, "-timeout", "5s"},
		{"rotate", "-id", "x", "-base-url", dead, "-timeout", "5s"},
		{"ping", "-id", "x", "-base-url", dead, "-timeout", "5s"},
		{"ensure"}, {"rotate"}, {"ping"},
		{"verify", "-file", filepath.Join(t.TempDir(), "missing")},
		{"listen", "-addr", "256.0.0.1:1"},
	} {
		modes = append(modes, args, append([]string{args[0], "-json"}, args[1:]...))
	}
	return modes
}

// TestBinaryOutputs runs every mode of the built binary with an API key in
// its environment: no output may show the key, -json errors are JSON on
// stdout with a non-zero exit, and usage lines end without a space.
func TestBinaryOutputs(t *testing.T) {
	t.Parallel()
	bin := buildCLI(t)
	for _, args := range cliModes(t) {
		r := runBin(t, bin, args...)
		name := "gemhook " + strings.Join(args, " ")
		if strings.Contains(r.stdout, fakeKey) || strings.Contains(r.err, fakeKey) {
			t.Errorf("%s printed the API key:\n%s%s", name, r.stdout, r.err)
		}
		for _, l := range strings.Split(r.err, "\n") {
			if strings.HasPrefix(l, "usage:") && strings.TrimRight(l, " ") != l {
				t.Errorf("%s: usage line %q ends in a space", name, l)
			}
		}
		if !slices.Contains(args, "-json") {
			continue
		}
		var v struct {
			Error string
			Exit  int
		}
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Error == "" || r.code == exitOK || v.Exit != r.code {
			t.Errorf("%s: exit %d, stdout %q (%v)", name, r.code, r.stdout, err)
		}
	}
	r := runBin(t, bin, "list", "-h")
	if !strings.Contains(r.err, "(default $GEMINI_API_KEY)") {
		t.Errorf("list -h does not say where the key comes from:\n%s", r.err)
	}
}
