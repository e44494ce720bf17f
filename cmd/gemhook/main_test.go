package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/signature"
)

// cli runs one command in process and returns its exit code and outputs.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func newEmulator(t *testing.T) (*gemhooktest.Server, []string) {
	t.Helper()
	for _, k := range []string{"GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"} {
		t.Setenv(k, "")
	}
	emu := gemhooktest.NewServer(gemhooktest.Options{})
	t.Cleanup(emu.Close)
	return emu, []string{"-api-key", "test-key", "-base-url", emu.URL}
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

func TestUsage(t *testing.T) {
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
	t.Setenv("GEMINI_API_KEY", "")
	if code, _, errOut := cli(t, "list"); code != exitUsage || !strings.Contains(errOut, "GEMINI_API_KEY") {
		t.Fatalf("no key: %d %q", code, errOut)
	}
}

func TestWebhookCommands(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	emu, api := newEmulator(t)
	addr := freeAddr(t)
	uri := "http://" + addr + "/hook"

	code, _, errOut := cli(t, append([]string{"ensure", "-uri", uri, "-events", "batch.completed"}, api...)...)
	if code != exitUsage || !strings.Contains(errOut, `did you mean "batch.succeeded"`) {
		t.Fatalf("typo: %d %q", code, errOut)
	}
	if emu.Calls().Total() != 0 {
		t.Fatal("a typo reached the API")
	}

	code, out, errOut := cli(t, append([]string{"ensure", "-json", "-uri", uri, "-events", "batch.succeeded,video.generated"}, api...)...)
	if code != exitOK {
		t.Fatalf("ensure: %d %s", code, errOut)
	}
	var created hookOut
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if created.ID == "" || created.State != "enabled" || !strings.HasPrefix(created.Secret, "whsec_") ||
		strings.Join(created.Events, ",") != "batch.succeeded,video.generated" {
		t.Fatalf("created %+v", created)
	}

	code, out, _ = cli(t, append([]string{"ensure", "-uri", uri, "-events", "batch.succeeded"}, api...)...)
	if code != exitOK || !regexpLine(out, "id", created.ID) || !regexpLine(out, "events", "batch.succeeded") || strings.Contains(out, "secret") {
		t.Fatalf("second ensure: %d %q", code, out)
	}

	code, out, _ = cli(t, append([]string{"list"}, api...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") ||
		strings.Index(lines[0], "STATE") != strings.Index(lines[1], "enabled") || !strings.Contains(lines[1], uri) {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = cli(t, append([]string{"list", "-json"}, api...)...)
	var listed []hookOut
	if err := json.Unmarshal([]byte(out), &listed); code != exitOK || err != nil || len(listed) != 1 || listed[0].Secrets != 1 {
		t.Fatalf("list -json: %d %v %q", code, err, out)
	}

	code, out, errOut = cli(t, append([]string{"rotate", "-json", "-id", created.ID}, api...)...)
	var rotated struct{ Secret string }
	if err := json.Unmarshal([]byte(out), &rotated); code != exitOK || err != nil || !strings.HasPrefix(rotated.Secret, "whsec_") ||
		rotated.Secret == created.Secret {
		t.Fatalf("rotate: %d %v %q %s", code, err, out, errOut)
	}
	if emu.Webhooks()[0].Secrets != 2 {
		t.Fatal("the emulator does not hold two secrets after rotation")
	}
	if code, _, errOut := cli(t, append([]string{"rotate", "-id", "nope"}, api...)...); code != exitFail || !strings.Contains(errOut, "nope") {
		t.Fatalf("rotate unknown: %d %q", code, errOut)
	}

	code, out, _ = cli(t, append([]string{"ping", "-id", created.ID}, api...)...)
	if code != exitOK || !regexpLine(out, "result", "requested") {
		t.Fatalf("ping without listening: %d %q", code, out)
	}
	code, out, errOut = cli(t, append([]string{"ping", "-id", created.ID, "-listen", addr, "-secret", rotated.Secret}, api...)...)
	if code != exitOK || !regexpLine(out, "result", "verified") || !regexpLine(out, "scheme", "v1") {
		t.Fatalf("ping: %d %q %q", code, out, errOut)
	}
	wrong := signature.EncodeSecret(bytes.Repeat([]byte{7}, 32))
	code, _, errOut = cli(t, append([]string{"ping", "-id", created.ID, "-listen", addr, "-secret", wrong}, api...)...)
	if code != exitFail || !strings.Contains(errOut, "rejected") || !strings.Contains(errOut, "re-encodes") {
		t.Fatalf("ping with a wrong secret: %d %q", code, errOut)
	}
	code, _, errOut = cli(t, append([]string{"ping", "-id", created.ID, "-listen", addr}, api...)...)
	if code != exitUsage {
		t.Fatalf("ping -listen without secret: %d %q", code, errOut)
	}
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

// lineWriter hands each complete line to a channel, so a test can wait for
// "listening on ..." without sleeping.
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

func TestListen(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	emu, _ := newEmulator(t)
	addr := freeAddr(t)
	secret := emu.RegisterWebhook("http://"+addr+"/hook", "batch.succeeded")
	hookID := emu.Webhooks()[0].ID
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url, done, out := startListen(ctx, t, "-json", "-addr", addr, "-count", "1", "-secret", secret, "-jwks-url", emu.JWKSURL)
	// A forged delivery is printed as rejected; then a real one ends the run.
	forged, _ := http.NewRequest(http.MethodPost, url+"/hook", strings.NewReader(`{"type":"batch.succeeded","data":{"id":"batches/x"}}`))
	forged.Header.Set("Content-Type", "application/json")
	forged.Header.Set("Webhook-Id", "msg_forged")
	forged.Header.Set("Webhook-Timestamp", strconv.FormatInt(time.Now().Unix(), 10))
	forged.Header.Set("Webhook-Signature", "v1,"+strings.Repeat("A", 43)+"=")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(forged)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged: %d", resp.StatusCode)
	}
	if err := emu.Ping(hookID); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("listen exited %d", code)
		}
	case <-ctx.Done():
		t.Fatal("listen did not exit after one verified delivery")
	}
	var got []delivery
	sc := bufio.NewScanner(out)
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
	code, _, errOut := cli(t, "listen", "-addr", "127.0.0.1:0", "-selftest", dead, "-jwks-url", "http://127.0.0.1:1/jwks.json")
	if code != exitFail || !strings.Contains(errOut, "self-test of "+dead+" failed") || !strings.Contains(errOut, "unreachable") {
		t.Fatalf("%d %q", code, errOut)
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{9}, 32)
	secret := signature.EncodeSecret(key)
	body := []byte(`{"type":"batch.succeeded","version":"v1","data":{"id":"batches/abc"}}`)
	ts := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	capture := func(name string, b []byte) string {
		req, _ := http.NewRequest(http.MethodPost, "http://example.test/hook", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Webhook-Id", "msg_1")
		req.Header.Set("Webhook-Timestamp", ts)
		req.Header.Set("Webhook-Signature", signature.SignV1(key, "msg_1", ts, body))
		dump, err := httputil.DumpRequest(req, true)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, dump, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := capture("good.http", body)
	bad := capture("bad.http", bytes.Replace(body, []byte("abc"), []byte("abd"), 1))
	noJWKS := []string{"-jwks-url", "http://127.0.0.1:1/jwks.json"}

	code, out, errOut := cli(t, append([]string{"verify", "-file", good, "-secret", secret}, noJWKS...)...)
	if code != exitOK || !regexpLine(out, "result", "verified") || !regexpLine(out, "resource", "batches/abc") {
		t.Fatalf("good: %d %q %q", code, out, errOut)
	}
	code, out, _ = cli(t, append([]string{"verify", "-json", "-file", good, "-secret", secret}, noJWKS...)...)
	var v struct {
		Verified bool
		Scheme   string
	}
	if err := json.Unmarshal([]byte(out), &v); code != exitOK || err != nil || !v.Verified || v.Scheme != "v1" {
		t.Fatalf("good -json: %d %v %q", code, err, out)
	}
	code, _, errOut = cli(t, append([]string{"verify", "-file", bad, "-secret", secret}, noJWKS...)...)
	if code != exitFail || !strings.Contains(errOut, "no matching webhook signature") {
		t.Fatalf("tampered: %d %q", code, errOut)
	}
	code, _, errOut = cli(t, append([]string{"verify", "-file", good, "-secret", secret, "-now", "now"}, noJWKS...)...)
	if code != exitFail || !strings.Contains(errOut, "too old") {
		t.Fatalf("an hour old, checked now: %d %q", code, errOut)
	}
	code, _, errOut = cli(t, append([]string{"verify", "-file", filepath.Join(dir, "missing"), "-secret", secret}, noJWKS...)...)
	if code != exitFail {
		t.Fatalf("missing file: %d %q", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk"), []byte("not http"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = cli(t, "verify", "-file", filepath.Join(dir, "junk"))
	if code != exitFail || !strings.Contains(errOut, "not an HTTP request") {
		t.Fatalf("junk: %d %q", code, errOut)
	}
	if code, _, _ := cli(t, "verify", "-file", good, "-secret", "not base64!"); code != exitUsage {
		t.Fatalf("bad secret: %d", code)
	}
	code, _, errOut = cli(t, append([]string{"verify", "-file", good}, noJWKS...)...)
	if code != exitUsage || !strings.Contains(errOut, "pass the webhook's secret with -secret") {
		t.Fatalf("v1 without -secret: %d %q", code, errOut)
	}
}

// Flags a command does not use are not offered.
func TestVerifyOffersOnlyItsFlags(t *testing.T) {
	for _, name := range []string{"verify", "listen"} {
		_, _, errOut := cli(t, name, "-h")
		if strings.Contains(errOut, "-api-key") || strings.Contains(errOut, "-base-url") {
			t.Errorf("%s -h offers flags it does not use:\n%s", name, errOut)
		}
	}
}

func TestListenTimeout(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	noJWKS := []string{"-jwks-url", "http://127.0.0.1:1/jwks.json"}
	start := time.Now()
	code, _, errOut := cli(t, append([]string{"listen", "-addr", "127.0.0.1:0", "-timeout", "100ms"}, noJWKS...)...)
	if code != exitOK || time.Since(start) > 10*time.Second {
		t.Fatalf("listen -timeout 100ms: exit %d after %v: %q", code, time.Since(start), errOut)
	}
	code, _, errOut = cli(t, append([]string{"listen", "-addr", "127.0.0.1:0", "-timeout", "100ms", "-count", "1"}, noJWKS...)...)
	if code != exitFail || !strings.Contains(errOut, "0 of 1 verified deliveries") {
		t.Fatalf("listen -count 1 -timeout 100ms: exit %d: %q", code, errOut)
	}
}

// -count counts deliveries, not -selftest's probes: the run waits for a
// real one after the self-test has passed.
func TestListenCountSkipsSelfTestProbes(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	emu, _ := newEmulator(t)
	addr := freeAddr(t)
	secret := emu.RegisterWebhook("http://"+addr+"/hook", "batch.succeeded")
	errOut := &lineWriter{lines: make(chan string, 16)}
	var out bytes.Buffer
	done := make(chan int, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		done <- run(ctx, []string{"listen", "-json", "-addr", addr, "-count", "1", "-secret", secret,
			"-jwks-url", emu.JWKSURL, "-selftest", "http://" + addr + "/hook"}, &out, errOut)
	}()
	for passed := false; !passed; {
		select {
		case l := <-errOut.lines:
			passed = strings.HasPrefix(l, "self-test: ")
		case code := <-done:
			t.Fatalf("listen exited %d before any delivery but the self-test's probes", code)
		case <-ctx.Done():
			t.Fatal("the self-test did not pass")
		}
	}
	select {
	case code := <-done:
		t.Fatalf("listen exited %d on a probe", code)
	default:
	}
	if err := emu.Ping(emu.Webhooks()[0].ID); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("listen exited %d", code)
		}
	case <-ctx.Done():
		t.Fatal("listen did not exit after the ping")
	}
	if !strings.Contains(out.String(), gemhooktest.PingType) {
		t.Fatalf("output %q", out.String())
	}
}

// Reaching -count ends the run at once, even while a -selftest probe still
// waits on a URL that does not answer.
func TestListenCountStopsPendingSelfTest(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	emu, _ := newEmulator(t)
	addr := freeAddr(t)
	secret := emu.RegisterWebhook("http://"+addr+"/hook", "batch.succeeded")
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	errOut := &lineWriter{lines: make(chan string, 16)}
	var out bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"listen", "-addr", addr, "-count", "1", "-secret", secret, "-timeout", "1h",
			"-jwks-url", emu.JWKSURL, "-selftest", "http://" + silent.Addr().String() + "/hook"}, &out, errOut)
	}()
	select {
	case <-errOut.lines: // listening
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not start")
	}
	if err := emu.Ping(emu.Webhooks()[0].ID); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("listen exited %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listen kept waiting for the self-test after -count was reached")
	}
}

// listen -record writes every delivery (verified or not) as a fixture
// holding only the webhook headers, and verify -file replays each one.
func TestListenRecordReplays(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	emu, _ := newEmulator(t)
	addr := freeAddr(t)
	secret := emu.RegisterWebhook("http://"+addr+"/hook", "batch.succeeded")
	dir := filepath.Join(t.TempDir(), "fixtures")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url, done, out := startListen(ctx, t, "-json", "-addr", addr, "-count", "2", "-secret", secret, "-jwks-url", emu.JWKSURL, "-record", dir)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	post := func(target, body string, h map[string]string) {
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// A forged delivery with credentials a proxy might add: recorded as
	// rejected, without them.
	post(url+"/hook", `{"type":"batch.succeeded","data":{"id":"batches/x"}}`, map[string]string{
		"Webhook-Id": "msg_forged", "Webhook-Timestamp": strconv.FormatInt(time.Now().Unix(), 10),
		"Webhook-Signature": "v1," + strings.Repeat("A", 43) + "=", "Authorization": "Bearer topsecret", "Cookie": "session=topsecret",
	})
	post(emu.URL+"/v1beta/models/m:batchGenerateContent", `{"batch":{"inputConfig":{"fileName":"files/in"}}}`, nil)
	post(emu.URL+"/v1beta/models/m:batchGenerateContent", `{"batch":{"inputConfig":{"fileName":"files/in"},"webhookConfig":{"uris":["`+url+`/tenant?token=s3cret"]}}}`, nil)
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("listen exited %d: %s", code, out.String())
		}
	case <-ctx.Done():
		t.Fatal("listen did not exit after two verified deliveries")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.http"))
	if err != nil || len(files) != 3 {
		t.Fatalf("fixtures %v, %v", files, err)
	}
	schemes := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, never := range []string{secret, "topsecret", "s3cret", "Authorization", "Cookie"} {
			if bytes.Contains(b, []byte(never)) {
				t.Errorf("%s holds %q:\n%s", f, never, b)
			}
		}
		code, got, errText := cli(t, "verify", "-json", "-file", f, "-secret", secret, "-jwks-url", emu.JWKSURL)
		if strings.Contains(f, "rejected") {
			if code != exitFail {
				t.Errorf("replaying %s: %d, want a failure", f, code)
			}
			continue
		}
		var res map[string]any
		if code != exitOK || json.Unmarshal([]byte(got), &res) != nil || res["type"] != "batch.succeeded" {
			t.Fatalf("replaying %s: %d %s %s", f, code, got, errText)
		}
		schemes[res["scheme"].(string)] = true
	}
	if !schemes["v1"] || !schemes["v1a"] {
		t.Errorf("replayed schemes %v, want v1 and v1a", schemes)
	}
	if !strings.Contains(out.String(), `"fixture":`) {
		t.Errorf("the output names no fixture: %s", out.String())
	}
}

// startListen runs listen with args until ctx ends and waits until it
// listens. It returns its URL, its exit code (once it exits) and its output,
// which may be read after the exit code.
func startListen(ctx context.Context, t *testing.T, args ...string) (string, <-chan int, *bytes.Buffer) {
	t.Helper()
	errOut := &lineWriter{lines: make(chan string, 16)}
	out := &bytes.Buffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"listen"}, args...), out, errOut) }()
	select {
	case l := <-errOut.lines:
		return strings.TrimPrefix(l, "listening on "), done, out
	case <-ctx.Done():
		t.Fatal("listen did not start")
	}
	return "", nil, nil
}

// Another webhook's ping (Gemini retries them for hours) is not this one's.
func TestIsPingNamesItsWebhook(t *testing.T) {
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
