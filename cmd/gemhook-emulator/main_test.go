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

// lockedBuffer is an io.Writer the test can read while run writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitMatch waits until re matches the output and returns its submatches.
func waitMatch(t *testing.T, out *lockedBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("output never matched %s:\n%s", re, out)
	return nil
}

// The command prints its URLs and the secret it issues, and a batch
// created with curl-style JSON ends in a delivery signed with that secret.
func TestRun(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	got := make(chan http.Header, 10)
	bodies := make(chan []byte, 10)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Header.Clone()
		bodies <- b
	}))
	defer rc.Close()

	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-job-duration", "1ms", "-webhook", rc.URL}, out, io.Discard)
	}()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	base := waitMatch(t, out, regexp.MustCompile(`base URL (http://127\.0\.0\.1:\d+)`))[1]
	waitMatch(t, out, regexp.MustCompile(`JWKS     `+regexp.QuoteMeta(base)+`/\.well-known/jwks\.json`))
	secret := waitMatch(t, out, regexp.MustCompile(`secret=(whsec_\S+)`))[1]

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
	h, body := <-got, <-bodies
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); h.Get("webhook-signature") != want {
		t.Fatalf("signature %q, want %q", h.Get("webhook-signature"), want)
	}
	waitMatch(t, out, regexp.MustCompile(`delivery batch\.succeeded batches/\S+ msg_\S+ -> `+regexp.QuoteMeta(rc.URL)+` attempt=1 scheme=v1 delivered status=200`))

	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-outcome", "exploded"},
		{"-drop-rate", "2"},
		{"-early-rate", "-1"},
		{"-video-file-field", "uri", "-addr", "127.0.0.1:0"},
		{"-webhook", "ftp://x", "-addr", "127.0.0.1:0"},
		{"-no-such-flag"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %v succeeded", args)
		}
	}
}

// Jobs wait for the control API, which ends one with the outcome asked for;
// quirk flags reach the emulator (a refused batch metadata config).
func TestRunControl(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	events := make(chan []byte, 10)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		events <- b
	}))
	defer rc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-job-duration", "-1s", "-refuse-batch-metadata", "-webhook", rc.URL}, out, io.Discard)
	}()
	defer func() { cancel(); <-done }()
	base := waitMatch(t, out, regexp.MustCompile(`control  (http://127\.0\.0\.1:\d+)/gemhooktest/`))[1]
	waitMatch(t, out, regexp.MustCompile(`secret=whsec_`))

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
	if code, body := post("/v1beta/models/m:batchGenerateContent", `{"batch":{"inputConfig":{"fileName":"files/in"},"webhookConfig":{"uris":["`+rc.URL+`"],"userMetadata":{"k":"v"}}}}`); code != 400 || !strings.Contains(body, `Unknown name \"userMetadata\"`) {
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
	case ev := <-events:
		if !strings.Contains(string(ev), `"type":"batch.failed"`) {
			t.Fatalf("event %s", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
}
