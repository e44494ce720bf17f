package gemhook

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// clientFixture is a Client over fakeBatches with a Receiver whose dispatch
// the test calls directly (verification is the receiver's tests' job).
type clientFixture struct {
	fake *fakeBatches
	r    *Receiver
	c    *Client
}

func newClientFixture(t *testing.T, cfg Config) *clientFixture {
	t.Helper()
	fx := &clientFixture{fake: newFakeBatches(t)}
	r := newOfflineReceiver(t)
	fx.r = r
	cfg.GenAI = fx.fake.genai(t)
	cfg.Receiver = r
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fx.c = c
	t.Cleanup(func() { c.Close(); r.Close() })
	return fx
}

// newOfflineReceiver returns a Receiver whose key set is out of reach,
// closed when the test ends.
func newOfflineReceiver(t *testing.T) *Receiver {
	t.Helper()
	r, err := NewReceiver(ReceiverConfig{JWKSURL: "http://127.0.0.1:1/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func (fx *clientFixture) deliver(t *testing.T, typ, name string, meta map[string]any) {
	t.Helper()
	ev := &Event{ID: "msg_" + name, Type: typ, Resource: name, UserMetadata: meta}
	if err := fx.r.dispatch(context.Background(), ev, ev.DedupeKey()); err != nil && !errors.Is(err, errDuplicate) {
		t.Fatalf("dispatch(%s %s): %v", typ, name, err)
	}
}

// token is the correlation token a job was submitted with, as the Store
// keeps it.
func (fx *clientFixture) token(t *testing.T, name string) string {
	t.Helper()
	ps, err := fx.c.Pending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == name {
			return p.Token
		}
	}
	t.Fatalf("%s is not pending", name)
	return ""
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var noPolls = Config{Fallback: Fallback{Disabled: true}, WebhookURL: "https://hooks.example/gemini"}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	fake := newFakeBatches(t)
	gc := fake.genai(t)
	r := newOfflineReceiver(t)
	vertex, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		Backend: genai.BackendVertexAI, APIKey: "k", HTTPClient: fake.srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]Config{
		"no genai":       {Receiver: r},
		"vertex":         {GenAI: vertex, Receiver: r},
		"no receiver":    {GenAI: gc},
		"relative url":   {GenAI: gc, Receiver: r, WebhookURL: "/hook"},
		"ftp url":        {GenAI: gc, Receiver: r, WebhookURL: "ftp://x/hook"},
		"credentials":    {GenAI: gc, Receiver: r, WebhookURL: "https://u:p@x/hook"},
		"negative after": {GenAI: gc, Receiver: r, Fallback: Fallback{After: -1}},
	} {
		if c, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			if c != nil {
				c.Close()
			}
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestSubmitBatchSettlesOnWebhookWithOneGet(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, noPolls)
	f := fx.c.SubmitBatch(waitCtx(t), "gemini-test", &genai.BatchJobSource{FileName: "files/in"}, nil,
		WithUserMetadata(map[string]any{"tenant": "a"}))
	name := f.Name()
	if name == "" {
		_, err := f.Wait(waitCtx(t))
		t.Fatalf("submission failed: %v", err)
	}
	// The webhook config went out with the URL, the metadata and a token.
	fx.fake.mu.Lock()
	wc, _ := fx.fake.lastBody["batch"].(map[string]any)["webhookConfig"].(map[string]any)
	fx.fake.mu.Unlock()
	meta, _ := wc["userMetadata"].(map[string]any)
	uris, _ := wc["uris"].([]any)
	tok, _ := meta[TokenKey].(string)
	if len(uris) != 1 || uris[0] != "https://hooks.example/gemini" || meta["tenant"] != "a" || len(tok) < 20 {
		t.Fatalf("webhookConfig = %v", wc)
	}
	select {
	case <-f.Done():
		t.Fatal("settled before any event")
	default:
	}
	fx.fake.set(name, "BATCH_STATE_SUCCEEDED")
	for range 3 { // duplicates while the confirming get runs
		fx.deliver(t, "batch.succeeded", name, meta)
	}
	job, err := f.Wait(waitCtx(t))
	if err != nil || job.State != genai.JobStateSucceeded || job.Name != name {
		t.Fatalf("Wait = %+v, %v", job, err)
	}
	fx.deliver(t, "batch.failed", name, meta) // a later, conflicting redelivery
	if _, err := f.Wait(waitCtx(t)); err != nil {
		t.Fatalf("the outcome changed: %v", err)
	}
	if n := fx.fake.getCount(name); n != 1 {
		t.Fatalf("%d gets, want exactly 1 confirming get", n)
	}
	if s := statsOf(fx.r); s.Waiting != 0 || s.Tombstones != 1 || s.Orphans != 0 {
		t.Fatalf("hub = %+v", s)
	}
	fx.c.Close()
	fx.r.Close()
}

func TestEventBeforeCreateReturns(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, noPolls)
	fx.fake.onCreate = func(name string) {
		fx.fake.set(name, "BATCH_STATE_SUCCEEDED")
		fx.deliver(t, "batch.succeeded", name, nil)
	}
	job, err := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil).Wait(waitCtx(t))
	if err != nil || job.State != genai.JobStateSucceeded {
		t.Fatalf("Wait = %+v, %v", job, err)
	}
	fx.c.Close()
	fx.r.Close()
}

func TestFailedBatchGivesJobError(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, noPolls)
	f := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	fx.fake.set(f.Name(), "BATCH_STATE_EXPIRED")
	meta := map[string]any{TokenKey: fx.token(t, f.Name())}
	ev := &Event{Type: "batch.expired", Resource: f.Name(), UserMetadata: meta, Data: EventData{ErrorCode: "4", ErrorMessage: "too slow"}}
	if err := fx.r.dispatch(context.Background(), ev, ev.DedupeKey()); err != nil {
		t.Fatal(err)
	}
	job, err := f.Wait(waitCtx(t))
	var je *JobError
	if !errors.As(err, &je) || je.State != string(genai.JobStateExpired) || je.Name != f.Name() || je.Code != "4" || je.Message != "too slow" {
		t.Fatalf("Wait error = %#v", err)
	}
	if job == nil || job.State != genai.JobStateExpired {
		t.Fatalf("Wait job = %+v; the object must come with the error", job)
	}
}

func TestCancelledWaitLeavesFuturePending(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, noPolls)
	f := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Wait = %v", err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel2()
	if _, err := f.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timed-out Wait = %v", err)
	}
	fx.fake.set(f.Name(), "BATCH_STATE_SUCCEEDED")
	fx.deliver(t, "batch.succeeded", f.Name(), nil)
	results := make(chan error, 8)
	for range 8 {
		go func() {
			job, err := f.Wait(waitCtx(t))
			if err == nil && job.State != genai.JobStateSucceeded {
				err = errors.New("wrong state")
			}
			results <- err
		}()
	}
	for range 8 {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	// A settled future answers even a cancelled context.
	if _, err := f.Wait(ctx); err != nil {
		t.Fatalf("Wait on a settled future with a cancelled ctx = %v", err)
	}
}

func TestCloseSettlesPendingWithErrClosed(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, Config{Fallback: Fallback{After: time.Hour}})
	var fs []*Future[*genai.BatchJob]
	for range 20 {
		fs = append(fs, fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil))
	}
	if err := fx.c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if _, err := f.Wait(waitCtx(t)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Wait after Close = %v, want ErrClosed", err)
		}
	}
	if _, err := fx.c.AwaitBatch("batches/x").Wait(waitCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("AwaitBatch after Close = %v", err)
	}
	if s := statsOf(fx.r); s.Waiting != 0 {
		t.Fatalf("closed client left %d waiters in the hub", s.Waiting)
	}
	fx.deliver(t, "batch.succeeded", fs[0].Name(), nil) // no one to wake; must not panic
	fx.r.Close()
}

func TestAwaitBatchOnFinishedJob(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, noPolls)
	fx.fake.set("batches/done", "BATCH_STATE_SUCCEEDED")
	job, err := fx.c.AwaitBatch("done").Wait(waitCtx(t))
	if err != nil || job.Name != "batches/done" {
		t.Fatalf("AwaitBatch = %+v, %v", job, err)
	}
	if n := fx.fake.getCount("batches/done"); n != 1 {
		t.Fatalf("%d gets, want 1", n)
	}
	_, err = fx.c.AwaitBatch("batches/missing").Wait(waitCtx(t))
	var apiErr genai.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 404 {
		t.Fatalf("AwaitBatch of a missing job = %v, want a wrapped 404", err)
	}
	for _, bad := range []string{"", "operations/x", "batches/a/b"} {
		_, err := fx.c.AwaitBatch(bad).Wait(waitCtx(t))
		if !errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "not a batch job name") {
			t.Errorf("AwaitBatch(%q) = %v", bad, err)
		}
	}
}

func TestFallbackPollSettlesSilentJob(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, Config{Fallback: Fallback{After: 5 * time.Millisecond, Every: 20 * time.Millisecond}})
	f := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	// Let a few polls see it running, then end it without any webhook.
	for fx.fake.getCount(f.Name()) < 3 {
		time.Sleep(time.Millisecond)
	}
	fx.fake.set(f.Name(), "BATCH_STATE_FAILED")
	_, err := f.Wait(waitCtx(t))
	var je *JobError
	if !errors.As(err, &je) || je.State != string(genai.JobStateFailed) {
		t.Fatalf("Wait = %v", err)
	}
	fx.c.Close()
	fx.r.Close()
}

func TestMismatchedTokenIsIgnored(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, noPolls)
	f := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	fx.fake.set(f.Name(), "BATCH_STATE_SUCCEEDED")
	fx.deliver(t, "batch.succeeded", f.Name(), map[string]any{TokenKey: "someone-else"})
	select {
	case <-f.Done():
		t.Fatal("an event with another job's token settled the future")
	case <-time.After(20 * time.Millisecond):
	}
	if n := fx.fake.getCount(f.Name()); n != 0 {
		t.Fatalf("%d gets for an event that was not ours", n)
	}
}

func TestUnknownEventsAreAccepted(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, noPolls)
	for _, ev := range []*Event{
		{Type: "model.tuned", Resource: "tunedModels/x"},
		{Type: "batch.succeeded", Resource: ""},
		{Type: "batch.running", Resource: "batches/nobody"},
		{Type: "interaction.completed", Resource: "batches/wrong-family"},
	} {
		if err := fx.r.dispatch(context.Background(), ev, ev.DedupeKey()); err != nil {
			t.Fatalf("dispatch(%+v) = %v", ev, err)
		}
	}
	if s := statsOf(fx.r); s.Orphans != 0 {
		t.Fatalf("hub kept %d orphans for events it cannot use", s.Orphans)
	}
}

func TestWaitAll(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, noPolls)
	ok := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	bad := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	fx.fake.set(ok.Name(), "BATCH_STATE_SUCCEEDED")
	fx.fake.set(bad.Name(), "BATCH_STATE_CANCELLED")
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := WaitAll(ctx, ok, bad); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitAll before any event = %v", err)
	}
	fx.deliver(t, "batch.cancelled", bad.Name(), nil)
	fx.deliver(t, "batch.succeeded", ok.Name(), nil)
	jobs, err := WaitAll(waitCtx(t), ok, bad, fx.c.AwaitBatch("operations/x"))
	var je *JobError
	if !errors.As(err, &je) || je.Name != bad.Name() {
		t.Fatalf("WaitAll error = %v", err)
	}
	var all *WaitAllError
	if !errors.As(err, &all) || all.Total != 3 || len(all.Failed) != 2 || all.Failed[0].Index != 1 ||
		all.Failed[0].Name != bad.Name() || all.Failed[1].Index != 2 || !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("WaitAll error = %#v", err)
	}
	if msg := err.Error(); strings.Count(msg, bad.Name()) != 1 || !strings.HasPrefix(msg, "gemhook: 2 of 3 jobs failed: ") {
		t.Fatalf("WaitAll message %q: want each job named once", msg)
	}
	if jobs[0].State != genai.JobStateSucceeded || jobs[1].State != genai.JobStateCancelled {
		t.Fatalf("WaitAll jobs = %v, %v", jobs[0].State, jobs[1].State)
	}
}
