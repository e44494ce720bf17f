package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// Tests that start servers in this process are not parallel: leaktest,
// which checks that each leaves no goroutine behind, counts every
// goroutine in the process.

// deadJWKS is a key set URL on a loopback port nothing listens on.
const deadJWKS = "http://127.0.0.1:1/jwks.json"

// cli runs one command in process and returns its exit code and outputs.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// project is an emulated Gemini project, and a free loopback address for
// the test's listener.
type project struct {
	emu  *gemhooktest.Server
	addr string
}

// newProject starts the emulator and, once the test has ended, checks that
// it left no goroutine running.
func newProject(t *testing.T) *project {
	t.Helper()
	t.Cleanup(leaktest.Check(t))
	emu := gemhooktest.NewServer(gemhooktest.Options{})
	t.Cleanup(emu.Close)
	return &project{emu: emu, addr: freeAddr(t)}
}

// cli runs a command against the emulator. The key and the base URL are
// flags, which take precedence over the environment's.
func (p *project) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return cli(t, append(args, "-api-key", "test-key", "-base-url", p.emu.URL)...)
}

// hook registers a webhook for the listener's address and returns its
// secret and ID.
func (p *project) hook() (secret, id string) {
	secret = p.emu.RegisterWebhook("http://"+p.addr+"/hook", "batch.succeeded")
	hooks := p.emu.Webhooks()
	return secret, hooks[len(hooks)-1].ID
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// post sends a JSON body with headers h and returns the response's status.
func post(t *testing.T, url, body string, h map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// regexpLine reports whether out has a line "key<spaces>value...".
func regexpLine(out, key, value string) bool {
	for l := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == key && f[1] == value {
			return true
		}
	}
	return false
}

func TestUsage(t *testing.T) {
	t.Parallel()
	if code, _, errOut := cli(t); code != exitUsage || !strings.Contains(errOut, "ensure") {
		t.Fatalf("no args: %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, "frobnicate"); code != exitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("unknown: %d %q", code, errOut)
	}
	if code, _, _ := cli(t, "help"); code != exitOK {
		t.Fatalf("help: %d", code)
	}
	if code, _, errOut := cli(t, "ensure", "-h"); code != exitOK || !strings.Contains(errOut, "-uri") {
		t.Fatalf("ensure -h: %d %q", code, errOut)
	}
	if code, _, errOut := cli(t, "ensure", "-uri", "http://x/hook", "stray"); code != exitUsage || !strings.Contains(errOut, "stray") {
		t.Fatalf("stray: %d %q", code, errOut)
	}
}

// Not parallel: it empties the environment's key.
func TestUsageWithoutAPIKey(t *testing.T) {
	t.Setenv("GEMINI_API_KEY", "")
	if code, _, errOut := cli(t, "list"); code != exitUsage || !strings.Contains(errOut, "GEMINI_API_KEY") {
		t.Fatalf("no key: %d %q", code, errOut)
	}
}

// Flags a command does not use are not offered.
func TestUsageOffersOnlyACommandsFlags(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"verify", "listen"} {
		_, _, errOut := cli(t, name, "-h")
		if strings.Contains(errOut, "-api-key") || strings.Contains(errOut, "-base-url") {
			t.Errorf("%s -h offers flags it does not use:\n%s", name, errOut)
		}
	}
}
