package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genai"
	gi "google.golang.org/genai/interactions/models/interactions"
	"google.golang.org/genai/interactions/models/operations"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/leaktest"
)

// ReplicaOptions sizes RunReplicas. The zero value runs the full case.
type ReplicaOptions struct {
	Jobs int // jobs submitted across the replicas; default 2,000
	// Disrupt, if set, runs once mid-run against one replica's store, as a
	// fault would: cut its hints, kill its connections. Nothing may be
	// lost.
	Disrupt func(t testing.TB, s gemhook.Store)
}

// ReplicaReport says what a RunReplicas run did.
type ReplicaReport struct {
	Jobs        int
	Deliveries  [4]int64 // answered by replicas A, B, C and D (C's successor)
	Settled     [4]int   // futures settled on each replica
	Reattached  int      // C's jobs that D found in Pending and attached to
	APICalls    int      // creates and gets the emulator served
	CallsPerJob float64
}

// RunReplicas runs a service of three replicas behind a round-robin
// balancer that ignores who waits, each replica a Receiver and a Client
// over its own Store from h.Open, on one emulated Gemini that duplicates,
// reorders, delays and delivers early. Fallback polls are an hour away, so
// only the Store can settle a job whose delivery lands elsewhere. Midway,
// replica C is closed and a new replica D attaches to C's jobs from
// Client.Pending. Every future must settle once, to the state the API
// reports, with about two API calls per job, and no goroutine may be left.
func RunReplicas(t *testing.T, h Harness, o ReplicaOptions) ReplicaReport {
	t.Helper()
	if o.Jobs <= 0 {
		o.Jobs = 2000
	}
	checkLeaks := leaktest.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	svc := newService(t, h, o.Jobs)
	defer svc.close()

	var wg sync.WaitGroup
	sem := make(chan struct{}, 48)
	for i := range o.Jobs {
		if i == o.Jobs/2 && o.Disrupt != nil {
			o.Disrupt(t, svc.replicas[0].store)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			svc.submit(ctx, i)
		}()
	}
	wg.Wait()

	// A deploy: C goes while some of its jobs are pending, D comes and
	// attaches to them by name.
	svc.replace(t, ctx, 2)
	svc.waitAll(t, ctx)
	rep := svc.check(t)
	svc.close()
	checkLeaks()
	return rep
}

type replica struct {
	store gemhook.Store
	r     *gemhook.Receiver
	c     *gemhook.Client
	tr    *http.Transport
	hits  atomic.Int64
}

type tracked struct {
	name    string
	kind    gemhook.JobKind
	replica int
	wait    func(context.Context) (state string, err error)
}

type service struct {
	t        *testing.T
	h        Harness
	open     func() gemhook.Store
	emu      *gemhooktest.Server
	lb       *httptest.Server
	secret   string
	mu       sync.Mutex
	replicas []*replica
	next     atomic.Uint64
	jobs     []*tracked
	cHits    int64 // deliveries C answered before it went
	closed   bool
}

func newService(t *testing.T, h Harness, n int) *service {
	s := &service{t: t, h: h, open: h.Open(t, Config{})}
	s.emu = gemhooktest.NewServer(gemhooktest.Options{
		JobDuration:  30 * time.Millisecond,
		Outcome:      gemhooktest.MixedOutcome,
		RetryBackoff: 20 * time.Millisecond,
		Workers:      16,
		Seed:         11,
		MaxJobs:      2 * n,
		Faults: gemhooktest.Faults{
			Duplicates: 1,
			Reorder:    true,
			EarlyRate:  0.10,
			MaxDelay:   40 * time.Millisecond,
		},
	})
	s.lb = httptest.NewServer(http.HandlerFunc(s.balance))
	s.secret = s.emu.RegisterWebhook(s.lb.URL + "/hook")
	for range 3 {
		s.replicas = append(s.replicas, s.newReplica(t))
	}
	return s
}

// balance hands each delivery to the next live replica in turn.
func (s *service) balance(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	live := make([]*replica, 0, len(s.replicas))
	for _, r := range s.replicas {
		if r != nil {
			live = append(live, r)
		}
	}
	s.mu.Unlock()
	if len(live) == 0 {
		http.Error(w, "no replica", http.StatusServiceUnavailable)
		return
	}
	r := live[s.next.Add(1)%uint64(len(live))]
	r.hits.Add(1)
	r.r.ServeHTTP(w, req)
}

func (s *service) newReplica(t *testing.T) *replica {
	rp := &replica{store: s.open(), tr: &http.Transport{}}
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{Secrets: []string{s.secret}, Store: rp.store})
	if err != nil {
		t.Fatal(err)
	}
	cc := s.emu.ClientConfig()
	cc.HTTPClient = &http.Client{Transport: rp.tr}
	gc, err := genai.NewClient(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := gemhook.New(gemhook.Config{GenAI: gc, Receiver: r, Fallback: gemhook.Fallback{After: time.Hour}, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	rp.r, rp.c = r, c
	return rp
}

func (s *service) submit(ctx context.Context, i int) {
	idx := i % 3
	s.mu.Lock()
	rp := s.replicas[idx]
	s.mu.Unlock()
	var tj *tracked
	switch {
	case i%10 == 8:
		f := rp.c.GenerateVideos(ctx, "veo-test", &genai.GenerateVideosSource{Prompt: fmt.Sprint("v", i)}, nil)
		tj = &tracked{name: f.Name(), kind: gemhook.KindVideos, wait: videoWait(f)}
	case i%10 == 9:
		input := gi.NewInteractionsInput(fmt.Sprint("i", i))
		req := operations.CreateInteractionRequest{Body: operations.NewCreateInteractionRequestBody(gi.CreateModelInteraction{
			Model: gi.Model("gemini-test"), Input: &input,
		})}
		f := rp.c.CreateInteraction(ctx, req)
		tj = &tracked{name: f.Name(), kind: gemhook.KindInteraction, wait: interactionWait(f)}
	default:
		var opts []gemhook.SubmitOption
		if i%3 == 0 {
			// Metadata brings a correlation token, which the other
			// replicas must check against the one the Store keeps.
			opts = append(opts, gemhook.WithUserMetadata(map[string]any{"tenant": fmt.Sprint("t", i%7)}))
		}
		src := &genai.BatchJobSource{InlinedRequests: []*genai.InlinedRequest{{
			Contents: []*genai.Content{genai.NewContentFromText(fmt.Sprint("b", i), genai.RoleUser)},
		}}}
		f := rp.c.SubmitBatch(ctx, "gemini-test", src, nil, opts...)
		tj = &tracked{name: f.Name(), kind: gemhook.KindBatch, wait: batchWait(f)}
	}
	tj.replica = idx
	if tj.name == "" {
		_, err := tj.wait(ctx)
		s.t.Errorf("submission %d failed: %v", i, err)
		return
	}
	s.mu.Lock()
	s.jobs = append(s.jobs, tj)
	s.mu.Unlock()
}

// replace closes replica idx, then starts its successor, which attaches to
// the jobs that were idx's and are still pending.
func (s *service) replace(t *testing.T, ctx context.Context, idx int) {
	s.mu.Lock()
	old := s.replicas[idx]
	s.mu.Unlock()
	old.c.Close()
	old.r.Close()
	old.tr.CloseIdleConnections()
	if c, ok := old.store.(io.Closer); ok {
		c.Close()
	}
	d := s.newReplica(t)
	s.mu.Lock()
	s.cHits = old.hits.Load()
	s.replicas[idx] = d
	s.mu.Unlock()

	pending, err := d.c.Pending(ctx)
	if err != nil {
		t.Fatalf("Pending on the new replica: %v", err)
	}
	inPending := make(map[string]bool, len(pending))
	for _, p := range pending {
		inPending[p.Name] = true
	}
	s.mu.Lock()
	jobs := append([]*tracked(nil), s.jobs...)
	s.mu.Unlock()
	for _, j := range jobs {
		if j.replica != idx {
			continue
		}
		if _, err := j.wait(expired()); !errors.Is(err, gemhook.ErrClosed) {
			continue // settled on C before it went
		}
		if !inPending[j.name] {
			// Not pending: C recorded its outcome just before it closed.
			rec, err := d.store.Lookup(ctx, routingKey(j.name))
			if err != nil || rec.Outcome == nil {
				t.Errorf("%s: C's future was closed, but the job is neither pending nor settled in the store (%v)", j.name, err)
			}
		}
		j.replica = 3
		switch j.kind {
		case gemhook.KindBatch:
			j.wait = batchWait(d.c.AwaitBatch(j.name))
		case gemhook.KindVideos:
			j.wait = videoWait(d.c.AwaitVideos(j.name))
		case gemhook.KindInteraction:
			j.wait = interactionWait(d.c.AwaitInteraction(j.name))
		}
	}
	for _, p := range pending {
		if p.Name == "" || p.Kind == "" || p.Submitted.IsZero() {
			t.Errorf("Pending holds an incomplete job: %+v", p)
		}
	}
}

// testLogger writes the replicas' logs to stderr when GEMHOOK_TEST_LOG is
// set, for a failing run to be read.
func testLogger() *slog.Logger {
	if os.Getenv("GEMHOOK_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func expired() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func (s *service) waitAll(t *testing.T, ctx context.Context) {
	s.mu.Lock()
	jobs := append([]*tracked(nil), s.jobs...)
	s.mu.Unlock()
	for _, j := range jobs {
		st, err := j.wait(ctx)
		if ctx.Err() != nil {
			var trail []string
			for _, d := range s.emu.Deliveries() {
				if d.Resource == j.name {
					trail = append(trail, fmt.Sprintf("%s copy %d attempt %d early=%v: %d %s %s", d.Type, d.Copy, d.Attempt, d.Early, d.Status, d.Result, d.Err))
				}
			}
			info, _ := s.emu.Job(j.name)
			t.Fatalf("%s (replica %d) did not settle: %v; the API says %s; its deliveries:\n%s",
				j.name, j.replica, err, info.State, strings.Join(trail, "\n"))
		}
		j.wait = func(context.Context) (string, error) { return st, err }
	}
}

func (s *service) check(t *testing.T) ReplicaReport {
	rep := ReplicaReport{}
	s.mu.Lock()
	jobs := append([]*tracked(nil), s.jobs...)
	rep.Deliveries = [4]int64{s.replicas[0].hits.Load(), s.replicas[1].hits.Load(), s.cHits, s.replicas[2].hits.Load()}
	s.mu.Unlock()
	rep.Jobs = len(jobs)
	for _, j := range jobs {
		st, err := j.wait(context.Background())
		rep.Settled[j.replica]++
		if j.replica == 3 {
			rep.Reattached++
		}
		info, ok := s.emu.Job(j.name)
		if !ok {
			t.Errorf("%s unknown to the emulator", j.name)
			continue
		}
		var je *gemhook.JobError
		isJobErr := errors.As(err, &je)
		wantFailure := info.Outcome != gemhooktest.Succeeded && info.Outcome != gemhooktest.RequiresAction
		switch {
		case err != nil && !isJobErr:
			t.Errorf("%s: Wait = %v", j.name, err)
		case isJobErr != wantFailure:
			t.Errorf("%s: Wait error %v, but the API says %s", j.name, err, info.Outcome)
		case j.kind == gemhook.KindBatch && strings.TrimPrefix(st, "JOB_STATE_") != strings.TrimPrefix(info.State, "BATCH_STATE_"):
			t.Errorf("%s: state %s, API %s", j.name, st, info.State)
		case j.kind == gemhook.KindInteraction && st != info.State:
			t.Errorf("%s: status %s, API %s", j.name, st, info.State)
		case j.kind == gemhook.KindVideos && st != "done":
			t.Errorf("%s: operation not done", j.name)
		}
	}
	if rep.Reattached == 0 {
		t.Error("no job was left pending when C closed: the restart path went untested")
	}
	calls := s.emu.Calls()
	for op, n := range calls {
		if strings.HasSuffix(op, ".create") || strings.HasSuffix(op, ".get") {
			rep.APICalls += n
		}
	}
	rep.CallsPerJob = float64(rep.APICalls) / float64(rep.Jobs)
	// Two per job (create, confirm), and one more for each job D
	// attached to (its first look).
	if limit := 2.0 + float64(rep.Reattached)/float64(rep.Jobs) + 0.25; rep.CallsPerJob > limit {
		t.Errorf("%.2f API calls per job (%v), want at most %.2f", rep.CallsPerJob, calls, limit)
	}
	t.Logf("replicas: %+v", rep)
	return rep
}

func (s *service) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	rs := s.replicas
	s.mu.Unlock()
	for _, r := range rs {
		r.c.Close()
		r.r.Close()
		r.tr.CloseIdleConnections()
		if c, ok := r.store.(io.Closer); ok {
			c.Close()
		}
	}
	s.lb.Close()
	s.emu.Close()
}

func batchWait(f *gemhook.Future[*genai.BatchJob]) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		job, err := f.Wait(ctx)
		if job == nil {
			return "", err
		}
		return string(job.State), err
	}
}

func videoWait(f *gemhook.Future[*genai.GenerateVideosOperation]) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		op, err := f.Wait(ctx)
		if op == nil || !op.Done {
			return "", err
		}
		return "done", err
	}
}

func interactionWait(f *gemhook.Future[*gi.Interaction]) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		it, err := f.Wait(ctx)
		if it == nil {
			return "", err
		}
		return string(it.Status), err
	}
}

// routingKey is the Store key of a job: video operations by their id alone.
func routingKey(name string) string {
	if i := strings.LastIndex(name, "/operations/"); i >= 0 {
		return "operations/" + name[i+len("/operations/"):]
	}
	return name
}
