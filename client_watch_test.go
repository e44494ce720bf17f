package gemhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/internal/hub"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// An early event with another job's token is ignored when the job
// registers; the job must still get its fallback poll, not hang.
func TestIgnoredOrphanStillPolls(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, Config{WebhookURL: "https://hooks.example/gemini", Fallback: Fallback{After: time.Millisecond, Every: 5 * time.Millisecond}})
	fx.fake.onCreate = func(name string) {
		fx.deliver(t, "batch.succeeded", name, map[string]any{TokenKey: "someone-else"})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f := fx.c.SubmitBatch(ctx, "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	fx.fake.set(f.Name(), "BATCH_STATE_SUCCEEDED")
	job, err := f.Wait(ctx)
	if err != nil || job.State != genai.JobStateSucceeded {
		t.Fatalf("Wait = %+v, %v; a job whose orphan was ignored was never polled", job, err)
	}
	fx.c.Close()
	fx.r.Close()
}

// closingHub closes the Client just before a registration reaches the
// hub: the window between start's track and its Register.
type closingHub struct {
	jobHub
	c *Client
}

func (h *closingHub) Register(key string, w hub.Waiter) {
	h.c.Close()
	h.jobHub.Register(key, w)
}

func TestCloseDuringRegisterLeavesNoWaiter(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, noPolls)
	fx.c.hub = &closingHub{jobHub: fx.c.hub, c: fx.c}
	f := fx.c.AwaitBatch("batches/racing")
	if _, err := f.Wait(waitCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait = %v, want ErrClosed", err)
	}
	if s := statsOf(fx.r); s.Waiting != 0 {
		t.Fatalf("a Client closed during registration left %d waiters in the Receiver's hub", s.Waiting)
	}
	fx.r.Close()
}

// A long Fallback.After must not overflow the backoff: 24h shifted by the
// step wrapped negative, and rand.N panicked on the worker goroutine.
func TestBackoffLongAfterDoesNotOverflow(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, Config{Fallback: Fallback{After: 24 * time.Hour, Every: 48 * time.Hour}})
	for _, step := range []uint8{0, 1, 17, 20, 40, 255} {
		w := &watch[*genai.BatchJob]{c: fx.c, kind: batchKind, step: step}
		w.mu.Lock()
		before := fx.c.now()
		w.scheduleLocked(fx.c.after, fx.c.every, true)
		d := time.Duration(w.pollAt - before.UnixNano())
		w.mu.Unlock()
		fx.c.sched.Cancel(&w.entry)
		if d < 24*time.Hour*3/4-time.Second || d > 48*time.Hour+time.Second {
			t.Errorf("step %d: next poll in %v, want within [18h, 48h]", step, d)
		}
	}
}

// A poll that comes due while a check runs is not lost: the check goes
// again. (Before, Fire returned and left pollAt set, and a check that then
// rested scheduled nothing: the job had no safety net left.)
func TestPollDueDuringCheckIsNotLost(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, Config{Fallback: Fallback{After: time.Hour, Every: time.Hour}})
	w := &watch[*genai.BatchJob]{c: fx.c, kind: batchKind, phase: running}
	w.mu.Lock()
	w.scheduleLocked(fx.c.after, fx.c.every, true)
	at := time.Unix(0, w.pollAt)
	w.mu.Unlock()
	fx.c.sched.Cancel(&w.entry) // as the scheduler does before it fires
	w.Fire(at)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.again || !w.mustGet || w.pollAt != 0 {
		t.Fatalf("after a poll came due mid-check: again %v, mustGet %v, pollAt %d; want the check to go again and ask the API",
			w.again, w.mustGet, w.pollAt)
	}
}

// The interactions stack reports a 4xx whose body has Google's numeric
// code as a schema mismatch; a missing interaction must still fail Wait
// instead of being retried for ever.
func TestAwaitMissingInteractionFails(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/interactions/") {
			gets.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"code":404,"message":"Interaction not found","status":"NOT_FOUND"}}`)
	}))
	defer srv.Close()
	gc, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: "k", Backend: genai.BackendGeminiAPI, HTTPClient: srv.Client(),
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReceiver(ReceiverConfig{JWKSURL: "http://127.0.0.1:1/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := New(Config{GenAI: gc, Receiver: r, Fallback: Fallback{After: time.Millisecond, Every: 2 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.AwaitInteraction("nope").Wait(ctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) || statusOf(err) != http.StatusNotFound {
		t.Fatalf("AwaitInteraction of a missing interaction = %v (after %d gets), want a wrapped 404", err, gets.Load())
	}
}

func TestPermanentStatuses(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]bool{400: true, 401: true, 403: true, 404: true, 408: false, 429: false, 500: false, 503: false} {
		if got := permanent(genai.APIError{Code: code}); got != want {
			t.Errorf("permanent(%d) = %v, want %v", code, got, want)
		}
	}
}

// A job the API says does not exist fails its future and leaves the
// Store: a restarted replica that attaches to everything Pending lists
// must not meet it again.
func TestMissingJobLeavesPending(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, noPolls)
	if _, err := fx.c.AwaitBatch("batches/nope").Wait(waitCtx(t)); err == nil {
		t.Fatal("Wait on a job the API does not know succeeded")
	}
	ps, err := fx.c.Pending(waitCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == "batches/nope" {
			t.Fatalf("Pending still lists the missing job: %+v", ps)
		}
	}
	fx.c.Close()
	fx.r.Close()
}

// A job created while its Client closes exists at Gemini: its future
// reports ErrClosed but keeps the name, so that the job can be awaited
// elsewhere.
func TestCloseDuringCreateKeepsName(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, noPolls)
	fx.fake.onCreate = func(string) { fx.c.Close() }
	f := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	if _, err := f.Wait(waitCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait = %v, want ErrClosed", err)
	}
	if f.Name() == "" {
		t.Fatal("the future of a job that was created lost its name")
	}
	fx.r.Close()
}
