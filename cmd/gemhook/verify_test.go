package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

func TestVerify(t *testing.T) {
	t.Parallel()
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

	code, out, errOut := cli(t, "verify", "-file", good, "-secret", secret, "-jwks-url", deadJWKS)
	if code != exitOK || !regexpLine(out, "result", "verified") || !regexpLine(out, "resource", "batches/abc") {
		t.Fatalf("good: %d %q %q", code, out, errOut)
	}
	code, out, _ = cli(t, "verify", "-json", "-file", good, "-secret", secret, "-jwks-url", deadJWKS)
	var v struct {
		Verified bool
		Scheme   string
	}
	if err := json.Unmarshal([]byte(out), &v); code != exitOK || err != nil || !v.Verified || v.Scheme != "v1" {
		t.Fatalf("good -json: %d %v %q", code, err, out)
	}
	code, _, errOut = cli(t, "verify", "-file", bad, "-secret", secret, "-jwks-url", deadJWKS)
	if code != exitFail || !strings.Contains(errOut, "no matching webhook signature") {
		t.Fatalf("tampered: %d %q", code, errOut)
	}
	code, _, errOut = cli(t, "verify", "-file", good, "-secret", secret, "-now", "now", "-jwks-url", deadJWKS)
	if code != exitFail || !strings.Contains(errOut, "too old") {
		t.Fatalf("an hour old, checked now: %d %q", code, errOut)
	}
	code, _, errOut = cli(t, "verify", "-file", filepath.Join(dir, "missing"), "-secret", secret, "-jwks-url", deadJWKS)
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
	code, _, errOut = cli(t, "verify", "-file", good, "-jwks-url", deadJWKS)
	if code != exitUsage || !strings.Contains(errOut, "pass the webhook's secret with -secret") {
		t.Fatalf("v1 without -secret: %d %q", code, errOut)
	}
}
