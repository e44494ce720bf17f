package gemhooktest

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"google.golang.org/genai"
)

// createBatches creates n batches and returns their names in order.
func createBatches(t *testing.T, c *genai.Client, n int) []string {
	t.Helper()
	var names []string
	for range n {
		j, err := c.Batches.Create(context.Background(), "m", inlineSource("x"), nil)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, j.Name)
	}
	return names
}

func finishAll(t *testing.T, s *Server, names []string) {
	t.Helper()
	for _, n := range names {
		if err := s.Finish(n, Succeeded); err != nil {
			t.Fatal(err)
		}
	}
}

func arrivalOrder(t *testing.T, rc *receiver, n int) []string {
	t.Helper()
	var out []string
	for range n {
		out = append(out, rc.next(t).envelope(t)["data"].(map[string]any)["id"].(string))
	}
	return out
}

func TestFaultDuplicates(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: time.Millisecond, Faults: Faults{Duplicates: 2}})
	defer s.Close()
	secret := s.RegisterWebhook(rc.URL)
	c := newClient(t, s)
	createBatches(t, c, 1)
	a, b, d := rc.next(t), rc.next(t), rc.next(t)
	for _, h := range []hit{b, d} {
		if h.id() != a.id() || string(h.body) != string(a.body) {
			t.Fatalf("copy differs: %s vs %s", h.id(), a.id())
		}
		verifyV1(t, secret, h, time.Now())
	}
	rc.none(t, 30*time.Millisecond)
	waitFor(t, func() bool { return len(s.Deliveries()) == 3 })
	var copies []int
	for _, dl := range s.Deliveries() {
		copies = append(copies, dl.Copy)
	}
	slices.Sort(copies)
	if !slices.Equal(copies, []int{0, 1, 2}) {
		t.Fatalf("copies %v", copies)
	}
}

// With one worker deliveries go out in the order their jobs ended, unless
// Reorder shuffles them.
func TestFaultReorder(t *testing.T) {
	for _, reorder := range []bool{false, true} {
		t.Run(map[bool]string{false: "in order", true: "shuffled"}[reorder], func(t *testing.T) {
			t.Cleanup(leaktest.Check(t))
			rc := newReceiver(t)
			s := NewServer(Options{JobDuration: -1, Workers: 1, Seed: 7,
				Faults: Faults{Reorder: reorder, ReorderWindow: 50 * time.Millisecond}})
			defer s.Close()
			s.RegisterWebhook(rc.URL)
			c := newClient(t, s)
			names := createBatches(t, c, 8)
			finishAll(t, s, names)
			got := arrivalOrder(t, rc, len(names))
			sorted := slices.Clone(got)
			slices.Sort(sorted)
			want := slices.Clone(names)
			slices.Sort(want)
			if !slices.Equal(sorted, want) {
				t.Fatalf("delivered %v, want each of %v once", got, names)
			}
			if inOrder := slices.Equal(got, names); inOrder == reorder {
				t.Fatalf("reorder=%v but arrival order %v vs end order %v", reorder, got, names)
			}
		})
	}
}

func TestFaultDropRate(t *testing.T) {
	t.Run("all", func(t *testing.T) {
		t.Cleanup(leaktest.Check(t))
		rc := newReceiver(t)
		s := NewServer(Options{JobDuration: -1, Faults: Faults{DropRate: 1}})
		defer s.Close()
		s.RegisterWebhook(rc.URL)
		c := newClient(t, s)
		names := createBatches(t, c, 3)
		finishAll(t, s, names)
		rc.none(t, 50*time.Millisecond)
		waitFor(t, func() bool { return len(s.Deliveries()) == 3 })
		for _, d := range s.Deliveries() {
			if d.Result != Dropped || d.Attempt != 0 {
				t.Fatalf("log entry %+v", d)
			}
		}
		// Redeliver is not subject to drops: it is how tests recover.
		if err := s.Redeliver(names[0]); err != nil {
			t.Fatal(err)
		}
		rc.next(t)
	})
	t.Run("half", func(t *testing.T) {
		t.Cleanup(leaktest.Check(t))
		rc := newReceiver(t)
		var dropped atomic.Int32
		s := NewServer(Options{JobDuration: -1, Seed: 3, Faults: Faults{DropRate: 0.5},
			OnDelivery: func(d Delivery) {
				if d.Result == Dropped {
					dropped.Add(1)
				}
			}})
		defer s.Close()
		s.RegisterWebhook(rc.URL)
		c := newClient(t, s)
		names := createBatches(t, c, 40)
		finishAll(t, s, names)
		waitFor(t, func() bool { return len(s.Deliveries()) == 40 })
		if n := dropped.Load(); n == 0 || n == 40 {
			t.Fatalf("%d of 40 dropped at rate 0.5", n)
		}
	})
}

// With EarlyRate 1 the event has been delivered when the create call
// answers, and the job has ended.
func TestFaultEarly(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	var returned, early atomic.Bool
	rc.setAnswer(func(int, hit) int {
		early.Store(!returned.Load())
		return 200
	})
	s := NewServer(Options{JobDuration: time.Hour, Faults: Faults{EarlyRate: 1}})
	defer s.Close()
	s.RegisterWebhook(rc.URL)
	c := newClient(t, s)
	j, err := c.Batches.Create(context.Background(), "m", inlineSource("x"), nil)
	returned.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != genai.JobStatePending {
		t.Fatalf("create answered %s", j.State)
	}
	h := rc.next(t)
	if !early.Load() {
		t.Fatal("the delivery came after the create call answered")
	}
	if d := s.Deliveries(); len(d) != 1 || !d[0].Early || d[0].MessageID != h.id() {
		t.Fatalf("log %+v", d)
	}
	if info, _ := s.Job(j.Name); info.Outcome != Succeeded {
		t.Fatalf("job %+v", info)
	}
}

// MaxDelay spreads the deliveries of jobs that end together, within bound.
func TestFaultMaxDelay(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	const maxDelay = 40 * time.Millisecond
	s := NewServer(Options{JobDuration: -1, Seed: 11, Faults: Faults{MaxDelay: maxDelay}})
	defer s.Close()
	s.RegisterWebhook(rc.URL)
	c := newClient(t, s)
	names := createBatches(t, c, 10)
	start := time.Now()
	finishAll(t, s, names)
	var first, last time.Time
	for i := range names {
		rc.next(t)
		if i == 0 {
			first = time.Now()
		}
		last = time.Now()
	}
	if spread := last.Sub(first); spread < 2*time.Millisecond {
		t.Fatalf("10 deliveries within %v: MaxDelay had no effect", spread)
	}
	if total := last.Sub(start); total > maxDelay+2*time.Second {
		t.Fatalf("last delivery after %v", total)
	}
}

// The same Seed drops the same events whatever the deliveries in between
// draw (signing keys, retry jitter): here one run finishes every job at
// once, the other waits for each event's fate before the next.
func TestFaultSeedReproducible(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	dropped := func(wait bool) []int {
		rc := newReceiver(t)
		rc.setAnswer(func(n int, _ hit) int {
			if n%2 == 0 {
				return 500 // some retries, whose jitter draws too
			}
			return 204
		})
		logged := make(chan Delivery, 1000)
		s := NewServer(Options{JobDuration: -1, Seed: 42, RetryBackoff: time.Millisecond, RetryHorizon: 5 * time.Millisecond,
			Faults: Faults{DropRate: 0.5}, OnDelivery: func(d Delivery) { logged <- d }})
		defer s.Close()
		s.RegisterWebhook(rc.URL)
		c := newClient(t, s)
		names := createBatches(t, c, 20)
		for range 4 { // per-request jobs too, whose v1a deliveries pick keys
			j, err := c.Batches.Create(context.Background(), "m", inlineSource("x"),
				&genai.CreateBatchJobConfig{WebhookConfig: &genai.WebhookConfig{Uris: []string{rc.URL}}})
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, j.Name)
		}
		settled := map[string]bool{}
		awaitFate := func(name string) {
			for !settled[name] {
				d := <-logged
				if d.Result != Retrying {
					settled[d.Resource] = true
				}
			}
		}
		for _, n := range names {
			if err := s.Finish(n, Succeeded); err != nil {
				t.Fatal(err)
			}
			if wait {
				awaitFate(n)
			}
		}
		for _, n := range names {
			awaitFate(n)
		}
		var out []int
		for _, d := range s.Deliveries() {
			if d.Result == Dropped {
				out = append(out, slices.Index(names, d.Resource))
			}
		}
		slices.Sort(out)
		return out
	}
	a, b := dropped(false), dropped(true)
	if len(a) == 0 || len(a) == 24 || !slices.Equal(a, b) {
		t.Fatalf("Seed 42 dropped %v in one run and %v in the other", a, b)
	}
}
