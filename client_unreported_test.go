package gemhook

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/fakeclock"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// unreportedStack is a per-request Client on the emulator, with jobs
// created elsewhere and no webhook config: nothing will report them.
func unreportedStack(t *testing.T, fb Fallback) (*gemhooktest.Server, *genai.Client, *Client, *syncBuffer) {
	t.Helper()
	emu := gemhooktest.NewServer(gemhooktest.Options{JobDuration: -1})
	t.Cleanup(emu.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cc := emu.ClientConfig()
	cc.HTTPClient = &http.Client{Transport: tr}
	gc, err := genai.NewClient(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	c, err := New(Config{GenAI: gc, Receiver: newOfflineReceiver(t), WebhookURL: "https://hooks.example/gemini",
		Fallback: fb, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return emu, gc, c, logs
}

func createElsewhere(t *testing.T, gc *genai.Client) string {
	t.Helper()
	job, err := gc.Batches.Create(waitCtx(t), "gemini-test", inlined("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return job.Name
}

// An attached job that no webhook will report is polled at a polling
// loop's pace, not left to the safety net, and the log says so.
func TestAttachedUnreportedJobIsPolledAtLoopPace(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	emu, gc, c, logs := unreportedStack(t, Fallback{After: time.Hour, Unreported: 10 * time.Millisecond})
	a, b := createElsewhere(t, gc), createElsewhere(t, gc)
	fa, fb := c.AwaitBatch(a), c.AwaitBatch(b)
	ctx := waitCtx(t)
	for emu.Calls()["batches.get"] < 4 { // each was polled again after its first get
		if ctx.Err() != nil {
			t.Fatalf("%d gets: the attached jobs are not polled", emu.Calls()["batches.get"])
		}
		time.Sleep(time.Millisecond)
	}
	for _, name := range []string{a, b} {
		if err := emu.Finish(name, gemhooktest.Succeeded); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := WaitAll(waitCtx(t), fa, fb); err != nil {
		t.Fatal(err)
	}
	if n := emu.Calls()["webhooks.list"]; n != 1 {
		t.Fatalf("%d webhook listings for two attached jobs, want 1", n)
	}
	if !strings.Contains(logs.String(), "level=INFO msg=\"no webhook will report this attached job") {
		t.Fatalf("logs:\n%s", logs)
	}
	c.Close()
}

// An enabled project webhook subscribed to the job's events is expected
// to report it; jobs of other families are not.
func TestExpectsWebhookFromProjectSubscriptions(t *testing.T) {
	t.Parallel()
	emu, _, c, _ := unreportedStack(t, Fallback{})
	emu.RegisterWebhook("https://hooks.example/a", "batch.succeeded")
	if !c.expectsWebhook(waitCtx(t), KindBatch) {
		t.Fatal("a subscribed batch job is not expected to be reported")
	}
	if c.expectsWebhook(waitCtx(t), KindInteraction) || c.expectsWebhook(waitCtx(t), KindVideos) {
		t.Fatal("jobs of unsubscribed families are expected to be reported")
	}
}

// A listing that failed is not tried again for every attached job: once
// per listRetry, by the Client's clock.
func TestFailedListingIsSpaced(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(time.Unix(1_800_000_000, 0))
	fx := newClientFixture(t, Config{Now: clock.Now})
	listings := func() int { fx.fake.mu.Lock(); defer fx.fake.mu.Unlock(); return fx.fake.listings }
	for range 3 {
		if fx.c.expectsWebhook(waitCtx(t), KindBatch) {
			t.Fatal("expected a webhook though the listing failed")
		}
	}
	if n := listings(); n != 1 {
		t.Fatalf("%d listings for three attached jobs within a minute, want 1", n)
	}
	clock.Advance(listRetry)
	fx.c.expectsWebhook(waitCtx(t), KindBatch)
	if n := listings(); n != 2 {
		t.Fatalf("%d listings after listRetry, want 2", n)
	}
}

func TestNewRefusesNegativeUnreported(t *testing.T) {
	t.Parallel()
	fake := newFakeBatches(t)
	if _, err := New(Config{GenAI: fake.genai(t), Receiver: newOfflineReceiver(t), Fallback: Fallback{Unreported: -1}}); err == nil {
		t.Fatal("negative Fallback.Unreported accepted")
	}
}
