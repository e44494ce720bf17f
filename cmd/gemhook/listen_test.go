package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// listening is a listen command running in the background.
type listening struct {
	url   string        // where it listens
	lines chan string   // its stderr after "listening on", a line at a time
	done  chan int      // its exit code
	out   *bytes.Buffer // its stdout; read it once done has delivered
}

// startListen runs listen with args until the test ends, and returns once
// it listens.
func startListen(t *testing.T, args ...string) *listening {
	t.Helper()
	l := &listening{lines: make(chan string, 16), done: make(chan int, 1), out: &bytes.Buffer{}}
	errOut := &lineWriter{lines: l.lines}
	go func() { l.done <- run(t.Context(), append([]string{"listen"}, args...), l.out, errOut) }()
	select {
	case line := <-l.lines:
		l.url = strings.TrimPrefix(line, "listening on ")
	case code := <-l.done:
		t.Fatalf("listen exited %d before listening", code)
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not start")
	}
	return l
}

// exit waits for the command to exit and returns its exit code.
func (l *listening) exit(t *testing.T) int {
	t.Helper()
	select {
	case code := <-l.done:
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not exit")
		return 0
	}
}

// lineWriter hands each complete line to a channel, so a test can wait for
// one without polling. Lines nobody takes are dropped.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.lines <- strings.TrimSpace(line):
		default:
		}
	}
}

// forged is the header of a delivery signed with a secret nobody holds.
func forged() map[string]string {
	return map[string]string{
		"Webhook-Id":        "msg_forged",
		"Webhook-Timestamp": strconv.FormatInt(time.Now().Unix(), 10),
		"Webhook-Signature": "v1," + strings.Repeat("A", 43) + "=",
	}
}

func TestListen(t *testing.T) {
	p := newProject(t)
	secret, id := p.hook()
	l := startListen(t, "-json", "-addr", p.addr, "-count", "1", "-secret", secret, "-jwks-url", p.emu.JWKSURL)
	// A forged delivery is printed as rejected; then a real one ends the run.
	if code := post(t, l.url+"/hook", `{"type":"batch.succeeded","data":{"id":"batches/x"}}`, forged()); code != http.StatusUnauthorized {
		t.Fatalf("forged: %d", code)
	}
	if err := p.emu.Ping(id); err != nil {
		t.Fatal(err)
	}
	if code := l.exit(t); code != exitOK {
		t.Fatalf("listen exited %d", code)
	}
	var got []delivery
	sc := bufio.NewScanner(l.out)
	for sc.Scan() {
		var d delivery
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("%v: %q", err, sc.Text())
		}
		got = append(got, d)
	}
	if len(got) != 2 || got[0].Verified || got[0].ID != "msg_forged" || !strings.Contains(got[0].Error, "no matching") ||
		!got[1].Verified || got[1].Type != gemhooktest.PingType || got[1].Scheme != "v1" {
		t.Fatalf("deliveries %+v", got)
	}
}

func TestListenSelfTestFailure(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	dead := "http://" + freeAddr(t) + "/hook"
	code, _, errOut := cli(t, "listen", "-addr", "127.0.0.1:0", "-selftest", dead, "-jwks-url", deadJWKS)
	if code != exitFail || !strings.Contains(errOut, "self-test of "+dead+" failed") || !strings.Contains(errOut, "unreachable") {
		t.Fatalf("%d %q", code, errOut)
	}
}

func TestListenTimeout(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	start := time.Now()
	code, _, errOut := cli(t, "listen", "-addr", "127.0.0.1:0", "-timeout", "100ms", "-jwks-url", deadJWKS)
	if code != exitOK || time.Since(start) > 10*time.Second {
		t.Fatalf("listen -timeout 100ms: exit %d after %v: %q", code, time.Since(start), errOut)
	}
	code, _, errOut = cli(t, "listen", "-addr", "127.0.0.1:0", "-timeout", "100ms", "-count", "1", "-jwks-url", deadJWKS)
	if code != exitFail || !strings.Contains(errOut, "0 of 1 verified deliveries") {
		t.Fatalf("listen -count 1 -timeout 100ms: exit %d: %q", code, errOut)
	}
}

// -count counts deliveries, not -selftest's probes: the run waits for a
// real one after the self-test has passed.
func TestListenCountSkipsSelfTestProbes(t *testing.T) {
	p := newProject(t)
	secret, id := p.hook()
	l := startListen(t, "-json", "-addr", p.addr, "-count", "1", "-secret", secret,
		"-jwks-url", p.emu.JWKSURL, "-selftest", "http://"+p.addr+"/hook")
	timeout := time.After(10 * time.Second)
	for passed := false; !passed; {
		select {
		case line := <-l.lines:
			passed = strings.HasPrefix(line, "self-test: ")
		case code := <-l.done:
			t.Fatalf("listen exited %d before any delivery but the self-test's probes", code)
		case <-timeout:
			t.Fatal("the self-test did not pass")
		}
	}
	select {
	case code := <-l.done:
		t.Fatalf("listen exited %d on a probe", code)
	default:
	}
	if err := p.emu.Ping(id); err != nil {
		t.Fatal(err)
	}
	if code := l.exit(t); code != exitOK {
		t.Fatalf("listen exited %d", code)
	}
	if !strings.Contains(l.out.String(), gemhooktest.PingType) {
		t.Fatalf("output %q", l.out.String())
	}
}

// Reaching -count ends the run at once, even while a -selftest probe still
// waits on a URL that does not answer.
func TestListenCountStopsPendingSelfTest(t *testing.T) {
	p := newProject(t)
	secret, id := p.hook()
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	l := startListen(t, "-addr", p.addr, "-count", "1", "-secret", secret, "-timeout", "1h",
		"-jwks-url", p.emu.JWKSURL, "-selftest", "http://"+silent.Addr().String()+"/hook")
	if err := p.emu.Ping(id); err != nil {
		t.Fatal(err)
	}
	if code := l.exit(t); code != exitOK {
		t.Fatalf("listen exited %d", code)
	}
}

// A probe is known by its webhook-id, not its type: a real event without a
// type still counts toward -count.
func TestIsProbeByID(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    delivery
		want bool
	}{
		{delivery{ID: "gemhook_probe_abc", Type: gemhook.ProbeType}, true},
		{delivery{ID: "gemhook_probe_abc"}, true},
		{delivery{ID: "msg_1"}, false},
		{delivery{ID: "msg_1", Type: gemhook.ProbeType}, false},
		{delivery{}, false},
	} {
		if got := isProbe(c.d); got != c.want {
			t.Errorf("isProbe(id %q, type %q) = %v", c.d.ID, c.d.Type, got)
		}
	}
}
