package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
)

func TestSmoke(t *testing.T) {
	schema := schemaFor(t)
	a, b := open(t, schema, Config{}), open(t, schema, Config{})
	ctx := context.Background()
	hints := make(chan string, 10)
	stop := b.Subscribe(func(k string) { hints <- k }, func() { hints <- "resync" })
	defer stop()
	if got := <-hints; got != "resync" {
		t.Fatalf("first call %q, want resync", got)
	}
	dup, err := a.Deliver(ctx, "batches/x", "msg_1", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true, Token: "t"})
	if err != nil || dup {
		t.Fatal(dup, err)
	}
	if got := <-hints; got != "batches/x" {
		t.Fatalf("hint %q", got)
	}
	dup, err = a.Deliver(ctx, "batches/x", "msg_1", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true, Token: "t"})
	if err != nil || !dup {
		t.Fatal(dup, err)
	}
	rec, err := b.Register(ctx, "batches/x", gemhook.PendingJob{Name: "batches/x", Kind: gemhook.KindBatch, Token: "t", Submitted: time.Now(), Metadata: map[string]any{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v %+v", rec.Job, rec.Events)
	o, err := a.Settle(ctx, "batches/x", gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"})
	t.Log(o, err)
	o, err = b.Settle(ctx, "batches/x", gemhook.Outcome{State: "JOB_STATE_FAILED"})
	t.Log(o, err)
	rec, err = b.Lookup(ctx, "batches/x")
	t.Logf("%+v %v", rec, err)
	ok, err := a.Lease(ctx, "k", "a", time.Second)
	t.Log(ok, err)
	ok, err = b.Lease(ctx, "k", "b", time.Second)
	t.Log(ok, err)
	p, err := a.Pending(ctx)
	t.Log(p, err)
	n, err := a.sweep(ctx)
	t.Log(n, err)
}
