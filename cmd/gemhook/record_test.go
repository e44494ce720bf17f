package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// listen -record writes every delivery (verified or not) as a fixture
// holding only the webhook headers, and verify -file replays each one.
func TestListenRecordReplays(t *testing.T) {
	p := newProject(t)
	secret, _ := p.hook()
	dir := filepath.Join(t.TempDir(), "fixtures")
	l := startListen(t, "-json", "-addr", p.addr, "-count", "2", "-secret", secret, "-jwks-url", p.emu.JWKSURL, "-record", dir)
	// A forged delivery with credentials a proxy might add: recorded as
	// rejected, without them.
	h := forged()
	h["Authorization"], h["Cookie"] = "Bearer topsecret", "session=topsecret"
	post(t, l.url+"/hook", `{"type":"batch.succeeded","data":{"id":"batches/x"}}`, h)
	create := p.emu.URL + "/v1beta/models/m:batchGenerateContent"
	post(t, create, `{"batch":{"inputConfig":{"fileName":"files/in"}}}`, nil)
	post(t, create, `{"batch":{"inputConfig":{"fileName":"files/in"},"webhookConfig":{"uris":["`+l.url+`/tenant?token=s3cret"]}}}`, nil)
	if code := l.exit(t); code != exitOK {
		t.Fatalf("listen exited %d: %s", code, l.out.String())
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
		code, got, errText := cli(t, "verify", "-json", "-file", f, "-secret", secret, "-jwks-url", p.emu.JWKSURL)
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
	if !strings.Contains(l.out.String(), `"fixture":`) {
		t.Errorf("the output names no fixture: %s", l.out.String())
	}
}
