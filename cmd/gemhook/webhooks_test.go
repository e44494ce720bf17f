package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gemhook/gemhook/internal/signature"
)

func TestWebhookCommands(t *testing.T) {
	p := newProject(t)
	uri := "http://" + p.addr + "/hook"

	code, _, errOut := p.cli(t, "ensure", "-uri", uri, "-events", "batch.completed")
	if code != exitUsage || !strings.Contains(errOut, `did you mean "batch.succeeded"`) {
		t.Fatalf("typo: %d %q", code, errOut)
	}
	if p.emu.Calls().Total() != 0 {
		t.Fatal("a typo reached the API")
	}

	code, out, errOut := p.cli(t, "ensure", "-json", "-uri", uri, "-events", "batch.succeeded,video.generated")
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

	code, out, _ = p.cli(t, "ensure", "-uri", uri, "-events", "batch.succeeded")
	if code != exitOK || !regexpLine(out, "id", created.ID) || !regexpLine(out, "events", "batch.succeeded") || strings.Contains(out, "secret") {
		t.Fatalf("second ensure: %d %q", code, out)
	}

	code, out, _ = p.cli(t, "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") ||
		strings.Index(lines[0], "STATE") != strings.Index(lines[1], "enabled") || !strings.Contains(lines[1], uri) {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = p.cli(t, "list", "-json")
	var listed []hookOut
	if err := json.Unmarshal([]byte(out), &listed); code != exitOK || err != nil || len(listed) != 1 || listed[0].Secrets != 1 {
		t.Fatalf("list -json: %d %v %q", code, err, out)
	}

	code, out, errOut = p.cli(t, "rotate", "-json", "-id", created.ID)
	var rotated struct{ Secret string }
	if err := json.Unmarshal([]byte(out), &rotated); code != exitOK || err != nil || !strings.HasPrefix(rotated.Secret, "whsec_") ||
		rotated.Secret == created.Secret {
		t.Fatalf("rotate: %d %v %q %s", code, err, out, errOut)
	}
	if p.emu.Webhooks()[0].Secrets != 2 {
		t.Fatal("the emulator does not hold two secrets after rotation")
	}
	if code, _, errOut := p.cli(t, "rotate", "-id", "nope"); code != exitFail || !strings.Contains(errOut, "nope") {
		t.Fatalf("rotate unknown: %d %q", code, errOut)
	}

	code, out, _ = p.cli(t, "ping", "-id", created.ID)
	if code != exitOK || !regexpLine(out, "result", "requested") {
		t.Fatalf("ping without listening: %d %q", code, out)
	}
	code, out, errOut = p.cli(t, "ping", "-id", created.ID, "-listen", p.addr, "-secret", rotated.Secret)
	if code != exitOK || !regexpLine(out, "result", "verified") || !regexpLine(out, "scheme", "v1") {
		t.Fatalf("ping: %d %q %q", code, out, errOut)
	}
	wrong := signature.EncodeSecret(bytes.Repeat([]byte{7}, 32))
	code, _, errOut = p.cli(t, "ping", "-id", created.ID, "-listen", p.addr, "-secret", wrong)
	if code != exitFail || !strings.Contains(errOut, "rejected") || !strings.Contains(errOut, "re-encoding") {
		t.Fatalf("ping with a wrong secret: %d %q", code, errOut)
	}
	code, _, errOut = p.cli(t, "ping", "-id", created.ID, "-listen", p.addr)
	if code != exitUsage {
		t.Fatalf("ping -listen without secret: %d %q", code, errOut)
	}
}
