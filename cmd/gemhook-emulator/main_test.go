package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// Tests that start the emulator are not parallel: leaktest, which checks
// that each leaves no goroutine behind, counts every goroutine in the
// process.

// output is an io.Writer the test can read while run writes. Each write
// signals changed, so that waiting for a line needs no polling.
type output struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // capacity 1
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	n, err := o.b.Write(p)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// wait waits until re matches the output and returns its submatches.
func (o *output) wait(t *testing.T, re string) []string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		if m := regexp.MustCompile(re).FindStringSubmatch(o.String()); m != nil {
			return m
		}
		select {
		case <-o.changed:
		case <-timeout:
			t.Fatalf("output never matched %s:\n%s", re, o)
		}
	}
}

// emulator is the command running in the background, delivering to a
// receiver registered with -webhook.
type emulator struct {
	out  *output
	hook string          // the receiver's URL
	got  <-chan delivery // what the receiver was sent
	stop func() error    // stops the command and returns run's error
}

// delivery is a request the receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// start runs the command with args on a free loopback port until the test
// ends, and checks that it left no goroutine running.
func start(t *testing.T, args ...string) *emulator {
	t.Helper()
	t.Cleanup(leaktest.Check(t))
	got := make(chan delivery, 10)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
	}))
	t.Cleanup(rc.Close)
	ctx, cancel := context.WithCancel(context.Background())
	e := &emulator{out: &output{changed: make(chan struct{}, 1)}, hook: rc.URL, got: got}
	done := make(chan error, 1)
	args = append([]string{"-addr", "127.0.0.1:0", "-webhook", rc.URL}, args...)
	go func() { done <- run(ctx, args, e.out, io.Discard) }()
	e.stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() { e.stop() })
	return e
}

// The command prints its URLs and the secret it issues, and a batch
// created with curl-style JSON ends in a delivery signed with that secret.
func TestRun(t *testing.T) {
	e := start(t, "-job-duration", "1ms")
	base := e.out.wait(t, `base URL (http://127\.0\.0\.1:\d+)`)[1]
	e.out.wait(t, `JWKS     `+regexp.QuoteMeta(base)+`/\.well-known/jwks\.json`)
	secret := e.out.wait(t, `secret=(whsec_\S+)`)[1]

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(base+"/v1beta/models/gemini-2.5-flash:batchGenerateContent", "application/json",
		strings.NewReader(`{"batch":{"inputConfig":{"fileName":"files/in"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	d := <-e.got
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(d.header.Get("webhook-id") + "." + d.header.Get("webhook-timestamp") + "."))
	mac.Write(d.body)
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); d.header.Get("webhook-signature") != want {
		t.Fatalf("signature %q, want %q", d.header.Get("webhook-signature"), want)
	}
	e.out.wait(t, `delivery batch\.succeeded batches/\S+ msg_\S+ -> `+regexp.QuoteMeta(e.hook)+` attempt=1 scheme=v1 delivered status=200`)
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
}

// Bad flags are refused before the emulator starts.
func TestRunBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-outcome", "exploded"},
		{"-drop-rate", "2"},
		{"-early-rate", "-1"},
		{"-video-file-field", "uri", "-addr", "127.0.0.1:0"},
		{"-webhook", "ftp://x", "-addr", "127.0.0.1:0"},
		{"-no-such-flag"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out, io.Discard); err == nil {
			t.Errorf("run %v succeeded", args)
		}
		if out.Len() > 0 { // refused before it started, not after "listening"
			t.Errorf("run %v printed %q", args, out.String())
		}
	}
}

// Jobs wait for the control API, which ends one with the outcome asked for;
// quirk flags reach the emulator (a refused batch metadata config).
func TestRunControl(t *testing.T) {
	e := start(t, "-job-duration", "-1s", "-refuse-batch-metadata")
	base := e.out.wait(t, `control  (http://127\.0\.0\.1:\d+)/gemhooktest/`)[1]
	e.out.wait(t, `secret=whsec_`)

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	post := func(path, body string) (int, string) {
		resp, err := (&http.Client{Transport: tr}).Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("/v1beta/models/m:batchGenerateContent", `{"batch":{"inputConfig":{"fileName":"files/in"},"webhookConfig":{"uris":["`+e.hook+`"],"userMetadata":{"k":"v"}}}}`); code != 400 || !strings.Contains(body, `Unknown name \"userMetadata\"`) {
		t.Fatalf("create with metadata: %d %s", code, body)
	}
	code, body := post("/v1beta/models/m:batchGenerateContent", `{"batch":{"inputConfig":{"fileName":"files/in"}}}`)
	name := regexp.MustCompile(`"name":"(batches/[a-z0-9]+)"`).FindStringSubmatch(body)
	if code != 200 || name == nil {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := post("/gemhooktest/finish", `{"name":"`+name[1]+`","outcome":"failed"}`); code != 200 || !strings.Contains(body, `"state":"BATCH_STATE_FAILED"`) {
		t.Fatalf("finish: %d %s", code, body)
	}
	select {
	case d := <-e.got:
		if !strings.Contains(string(d.body), `"type":"batch.failed"`) {
			t.Fatalf("event %s", d.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
}
