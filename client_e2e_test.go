package gemhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genai"
	gi "google.golang.org/genai/interactions/models/interactions"
	"google.golang.org/genai/interactions/models/operations"

	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/signature"
)

// stack is one emulated Gemini project with a Receiver on loopback that
// its project webhook delivers to, and a Client over both.
type stack struct {
	emu    *gemhooktest.Server
	hooks  *httptest.Server
	r      *Receiver
	live   atomic.Pointer[Receiver] // what the hook server serves with; swapped on restart
	c      *Client
	secret string
	// API connections are dropped before the emulator stops: its graceful
	// shutdown waits seconds for connections that were dialed but unused.
	transport *http.Transport
}

func newStack(t *testing.T, opts gemhooktest.Options, cfg Config) *stack {
	t.Helper()
	s := &stack{emu: gemhooktest.NewServer(opts), transport: &http.Transport{}}
	t.Cleanup(s.emu.Close)
	t.Cleanup(s.transport.CloseIdleConnections)
	s.hooks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.rcv().ServeHTTP(w, req)
	}))
	t.Cleanup(s.hooks.Close)
	s.secret = s.emu.RegisterWebhook(s.hooks.URL + "/hook")
	s.restart(t, cfg)
	return s
}

// restart replaces the Receiver and Client, as a new process would.
func (s *stack) restart(t *testing.T, cfg Config) {
	t.Helper()
	r, err := NewReceiver(ReceiverConfig{Secrets: []string{s.secret}, JWKSURL: s.emu.JWKSURL})
	if err != nil {
		t.Fatal(err)
	}
	cc := s.emu.ClientConfig()
	cc.HTTPClient = &http.Client{Transport: s.transport}
	gc, err := genai.NewClient(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.GenAI, cfg.Receiver = gc, r
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.r, s.c = r, c
	s.live.Store(r)
	t.Cleanup(func() { c.Close(); r.Close() })
}

func (s *stack) rcv() *Receiver { return s.live.Load() }

func (s *stack) close() {
	s.c.Close()
	s.r.Close()
	s.hooks.Close()
	s.transport.CloseIdleConnections()
	s.emu.Close()
}

func inlined(text string) *genai.BatchJobSource {
	return &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{{
		Contents: []*genai.Content{genai.NewContentFromText(text, genai.RoleUser)},
	}}}
}

func interactionReq(text string) operations.CreateInteractionRequest {
	input := gi.NewInteractionsInput(text)
	return operations.CreateInteractionRequest{Body: operations.NewCreateInteractionRequestBody(gi.CreateModelInteraction{
		Model: gi.Model("gemini-test"),
		Input: &input,
	})}
}

// TestEndToEndUnderFaults runs 2,000 jobs of all three kinds through the
// emulator with duplicated, reordered, early, delayed and dropped
// deliveries, and checks that every future settles once, to what the API
// reports, and that nothing is left running after Close.
func TestEndToEndUnderFaults(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	const batches, videos, interactions = 1400, 300, 300
	s := newStack(t, gemhooktest.Options{
		JobDuration:  30 * time.Millisecond,
		Outcome:      gemhooktest.MixedOutcome,
		RetryBackoff: 20 * time.Millisecond,
		Workers:      16,
		Seed:         7,
		Faults: gemhooktest.Faults{
			Duplicates: 1,
			Reorder:    true,
			DropRate:   0.10,
			EarlyRate:  0.10,
			MaxDelay:   50 * time.Millisecond,
		},
	}, Config{Fallback: Fallback{After: 300 * time.Millisecond, Every: 600 * time.Millisecond}})

	// A bound, not a target: it takes 15s alone under -race and over 40s on a
	// shared 2-core machine under load.
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	runJobs(ctx, t, s, batches, videos, interactions, nil)
	var dropped int
	for _, d := range s.emu.Deliveries() {
		if d.Result == gemhooktest.Dropped {
			dropped++
		}
	}
	st := statsOf(s.rcv())
	t.Logf("dropped deliveries %d, hub %+v, calls %v", dropped, st, s.emu.Calls())
	if dropped == 0 {
		t.Error("no delivery was dropped: the fallback path went untested")
	}
	if st.Waiting != 0 {
		t.Errorf("%d jobs still registered after every future settled", st.Waiting)
	}
	s.close()
}

// runJobs submits batches, videos and interactions (with opts(i), if
// given, for the i-th of each) and checks that every future settles once,
// to what the API reports.
func runJobs(ctx context.Context, t *testing.T, s *stack, batches, videos, interactions int, opts func(i int) []SubmitOption) {
	t.Helper()
	if opts == nil {
		opts = func(int) []SubmitOption { return nil }
	}
	type settled struct {
		name string
		err  error
		// state as the future reported it
		state string
	}
	results := make(chan settled, batches+videos+interactions)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	submit := func(f func() settled) {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results <- f()
		}()
	}
	for i := range batches {
		submit(func() settled {
			f := s.c.SubmitBatch(ctx, "gemini-test", inlined(fmt.Sprint("b", i)), nil, opts(i)...)
			job, err := f.Wait(ctx)
			st := ""
			if job != nil {
				st = string(job.State)
			}
			return settled{name: f.Name(), err: err, state: st}
		})
	}
	for i := range videos {
		submit(func() settled {
			f := s.c.GenerateVideos(ctx, "veo-test", &genai.GenerateVideosSource{Prompt: fmt.Sprint("v", i)}, nil, opts(i)...)
			op, err := f.Wait(ctx)
			st := ""
			if op != nil && op.Done {
				st = "done"
			}
			return settled{name: f.Name(), err: err, state: st}
		})
	}
	for i := range interactions {
		submit(func() settled {
			f := s.c.CreateInteraction(ctx, interactionReq(fmt.Sprint("i", i)), opts(i)...)
			it, err := f.Wait(ctx)
			st := ""
			if it != nil {
				st = string(it.Status)
			}
			return settled{name: f.Name(), err: err, state: st}
		})
	}
	wg.Wait()
	close(results)

	seen := map[string]bool{}
	for r := range results {
		if r.name == "" {
			t.Fatalf("submission failed: %v", r.err)
		}
		if seen[r.name] {
			t.Fatalf("%s settled twice", r.name)
		}
		seen[r.name] = true
		info, ok := s.emu.Job(r.name)
		if !ok {
			t.Fatalf("%s unknown to the emulator", r.name)
		}
		var je *JobError
		failedJob := errors.As(r.err, &je)
		wantFailure := info.Outcome != gemhooktest.Succeeded && info.Outcome != gemhooktest.RequiresAction
		switch {
		case r.err != nil && !failedJob:
			t.Errorf("%s: Wait = %v", r.name, r.err)
		case failedJob != wantFailure:
			t.Errorf("%s: Wait error %v, but the API says %s", r.name, r.err, info.Outcome)
		case strings.HasPrefix(r.name, "batches/") && r.state != info.State && !sameBatchState(r.state, info.State):
			t.Errorf("%s: state %s, API %s", r.name, r.state, info.State)
		case strings.HasPrefix(r.name, "interactions/") && r.state != info.State:
			t.Errorf("%s: status %s, API %s", r.name, r.state, info.State)
		case strings.Contains(r.name, "/operations/") && r.state != "done":
			t.Errorf("%s: operation not done", r.name)
		}
	}
	if len(seen) != batches+videos+interactions {
		t.Fatalf("%d futures settled, want %d", len(seen), batches+videos+interactions)
	}
}

func sameBatchState(job, wire string) bool {
	return strings.TrimPrefix(job, "JOB_STATE_") == strings.TrimPrefix(wire, "BATCH_STATE_")
}

// A webhook that arrives at a restarted process settles the job that the
// new Client attached to by name.
func TestRestartAwaitBatchByName(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := newStack(t, gemhooktest.Options{JobDuration: -1, RetryBackoff: 5 * time.Millisecond}, Config{Fallback: Fallback{Disabled: true}})
	ctx := waitCtx(t)
	f := s.c.SubmitBatch(ctx, "gemini-test", inlined("x"), nil)
	name := f.Name()
	if name == "" {
		_, err := f.Wait(ctx)
		t.Fatal(err)
	}
	// The process "dies": its client and receiver go away, the job is
	// still running at Gemini.
	s.c.Close()
	s.r.Close()
	if _, err := f.Wait(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Close = %v", err)
	}
	if err := s.emu.Finish(name, gemhooktest.Succeeded); err != nil {
		t.Fatal(err)
	}
	// Delivered to the dead receiver: answered 503, so the emulator retries.
	s.restart(t, Config{Fallback: Fallback{Disabled: true}})
	g := s.c.AwaitBatch(name)
	job, err := g.Wait(ctx)
	if err != nil || job.State != genai.JobStateSucceeded {
		t.Fatalf("AwaitBatch after restart = %+v, %v", job, err)
	}
	// The delivery refused while the process was down is retried and now
	// acknowledged: a no-op for the settled job.
	for !deliveredTo(s.emu, name) {
		time.Sleep(time.Millisecond)
	}
	if st := statsOf(s.rcv()); st.Waiting != 0 || st.Orphans != 0 {
		t.Fatalf("hub after the retried delivery: %+v", st)
	}
	s.close()
}

// A job still running when the new process attaches is settled by the
// webhook, not by a poll.
func TestRestartRedeliveredWebhookSettles(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := newStack(t, gemhooktest.Options{JobDuration: -1}, Config{Fallback: Fallback{Disabled: true}})
	ctx := waitCtx(t)
	name := s.c.SubmitBatch(ctx, "gemini-test", inlined("x"), nil).Name()
	s.c.Close()
	s.r.Close()
	s.restart(t, Config{Fallback: Fallback{Disabled: true}})
	g := s.c.AwaitBatch(name)
	// Wait until the initial get has seen it running.
	for s.emu.Calls()["batches.get"] < 1 {
		time.Sleep(time.Millisecond)
	}
	if err := s.emu.Finish(name, gemhooktest.Failed); err != nil {
		t.Fatal(err)
	}
	_, err := g.Wait(ctx)
	var je *JobError
	if !errors.As(err, &je) || je.Name != name {
		t.Fatalf("Wait = %v", err)
	}
	s.close()
}

// A forged delivery (right shape, naming a real pending job, signed with
// the wrong key) and a stale replay of a genuine one never settle anything
// or touch the hub; the genuine delivery afterwards still does.
func TestForgedDeliveryNeverSettles(t *testing.T) {
	t.Parallel()
	s := newStack(t, gemhooktest.Options{JobDuration: -1}, Config{Fallback: Fallback{Disabled: true}})
	ctx := waitCtx(t)
	f := s.c.SubmitBatch(ctx, "gemini-test", inlined("x"), nil)
	name := f.Name()
	body := []byte(fmt.Sprintf(`{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-01T00:00:00Z","data":{"id":%q}}`, name))
	right, err := signature.DecodeSecret(s.secret)
	if err != nil {
		t.Fatal(err)
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	stale := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	for _, tc := range []struct {
		name, id, ts string
		key          []byte
		want         int
	}{
		{"wrong key", "msg_forged", now, []byte("not the project's secret, 32 by"), http.StatusUnauthorized},
		{"stale replay", "msg_replayed", stale, right, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.hooks.URL+"/hook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("webhook-id", tc.id)
		req.Header.Set("webhook-timestamp", tc.ts)
		req.Header.Set("webhook-signature", signature.SignV1(tc.key, tc.id, tc.ts, body))
		res, err := s.hooks.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: answered %d, want %d", tc.name, res.StatusCode, tc.want)
		}
	}
	select {
	case <-f.Done():
		t.Fatal("a forged delivery settled a future")
	default:
	}
	if st := statsOf(s.rcv()); st.Orphans != 0 || st.Tombstones != 0 || s.emu.Calls()["batches.get"] != 0 {
		t.Fatalf("a forged delivery had an effect: hub %+v, calls %v", st, s.emu.Calls())
	}
	if err := s.emu.Finish(name, gemhooktest.Succeeded); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Wait(ctx); err != nil {
		t.Fatalf("the genuine delivery did not settle the job: %v", err)
	}
}

// Two tenants, each with its own Gemini project (API key), webhook secret
// and path on one mux: each tenant's jobs settle from its own deliveries,
// and a delivery signed for one tenant is refused at the other's path.
func TestTenantsNeverCross(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	mux := http.NewServeMux()
	front := httptest.NewServer(mux)
	defer front.Close()
	type tenant struct {
		emu    *gemhooktest.Server
		r      *Receiver
		c      *Client
		secret string
		hit    atomic.Int64
	}
	tenants := map[string]*tenant{}
	for _, id := range []string{"a", "b"} {
		tn := &tenant{emu: gemhooktest.NewServer(gemhooktest.Options{JobDuration: 10 * time.Millisecond, APIKey: "key-" + id})}
		defer tn.emu.Close()
		path := "/tenants/" + id + "/hook"
		tn.secret = tn.emu.RegisterWebhook(front.URL + path)
		r, err := NewReceiver(ReceiverConfig{Secrets: []string{tn.secret}, JWKSURL: tn.emu.JWKSURL})
		if err != nil {
			t.Fatal(err)
		}
		tn.r = r
		mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			tn.hit.Add(1)
			r.ServeHTTP(w, req)
		}))
		gc, err := genai.NewClient(context.Background(), tn.emu.ClientConfig())
		if err != nil {
			t.Fatal(err)
		}
		if tn.c, err = New(Config{GenAI: gc, Receiver: r, Fallback: Fallback{Disabled: true}}); err != nil {
			t.Fatal(err)
		}
		tenants[id] = tn
	}
	ctx := waitCtx(t)
	var fs []*Future[*genai.BatchJob]
	var owners []string
	for i := range 20 {
		id := []string{"a", "b"}[i%2]
		fs = append(fs, tenants[id].c.SubmitBatch(ctx, "gemini-test", inlined("t"), nil))
		owners = append(owners, id)
	}
	for i, f := range fs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatalf("tenant %s job: %v", owners[i], err)
		}
		if _, ok := tenants[owners[i]].emu.Job(f.Name()); !ok {
			t.Fatalf("tenant %s settled a job of another project", owners[i])
		}
	}
	// A's genuine signature, posted at B's path, is refused there.
	body := []byte(`{"type":"batch.failed","version":"v1","timestamp":"2026-01-01T00:00:00Z","data":{"id":"` + fs[0].Name() + `"}}`)
	hdr, err := gemhooktest.SignV1("msg_cross", time.Now(), body, tenants["a"].secret)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, front.URL+"/tenants/b/hook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a delivery signed for tenant a, posted at b's path: %d, want 401", resp.StatusCode)
	}
	for id, tn := range tenants {
		if n := tn.hit.Load(); n < 10 {
			t.Errorf("tenant %s path saw %d deliveries, want ≥ 10", id, n)
		}
		for _, d := range tn.emu.Deliveries() {
			if !strings.Contains(d.URL, "/tenants/"+id+"/") || d.Result != gemhooktest.Delivered {
				t.Errorf("tenant %s delivery %s to %s: %s", id, d.MessageID, d.URL, d.Result)
			}
		}
	}
	for _, tn := range tenants {
		tn.c.Close()
		tn.r.Close()
	}
	front.Close()
	for _, tn := range tenants {
		tn.emu.Close()
	}
}

func deliveredTo(emu *gemhooktest.Server, name string) bool {
	for _, d := range emu.Deliveries() {
		if d.Resource == name && d.Result == gemhooktest.Delivered {
			return true
		}
	}
	return false
}
