package gemhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genai"
	"google.golang.org/genai/interactions/models/operations"
	"google.golang.org/genai/interactions/models/webhooks"

	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/fakeclock"
	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/reconcile"
	"github.com/gemhook/gemhook/internal/signature"
)

// pwStack is an emulated project, a Receiver on loopback (optionally behind
// a proxy) and a Client over both.
type pwStack struct {
	emu   *gemhooktest.Server
	r     *Receiver
	c     *Client
	srv   *httptest.Server // what Gemini posts to
	url   string           // srv.URL + "/hook"
	logs  *syncBuffer
	clock *fakeclock.Clock // shared by the emulator, the Receiver and the Client, so that their 24-hour windows agree
}

type pwOptions struct {
	emu     gemhooktest.Options
	rcfg    ReceiverConfig
	front   func(http.Handler) http.Handler // a proxy in front of the Receiver
	noClock bool
}

func newPWStack(t *testing.T, o pwOptions) *pwStack {
	t.Helper()
	s := &pwStack{logs: &syncBuffer{}}
	if !o.noClock {
		s.clock = fakeclock.New(time.Now())
		o.emu.Now, o.rcfg.Now = s.clock.Now, s.clock.Now
	}
	s.emu = gemhooktest.NewServer(o.emu)
	t.Cleanup(s.emu.Close)
	if o.rcfg.JWKSURL == "" {
		o.rcfg.JWKSURL = s.emu.JWKSURL
	}
	r, err := NewReceiver(o.rcfg)
	if err != nil {
		t.Fatal(err)
	}
	s.r = r
	var h http.Handler = r
	if o.front != nil {
		h = o.front(h)
	}
	s.srv = httptest.NewServer(h)
	t.Cleanup(s.srv.Close)
	s.url = s.srv.URL + "/hook"
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	gcfg := s.emu.ClientConfig()
	gcfg.HTTPClient = &http.Client{Transport: tr, Timeout: 20 * time.Second}
	gc, err := genai.NewClient(context.Background(), gcfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{GenAI: gc, Receiver: r, Fallback: Fallback{Disabled: true},
		Logger: slog.New(slog.NewTextHandler(s.logs, nil))}
	if s.clock != nil {
		cfg.Now = s.clock.Now
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.c = c
	t.Cleanup(func() { c.Close(); r.Close() })
	return s
}

// reencoding is a proxy that parses JSON bodies and writes them back
// indented, as some frameworks and gateways do.
func reencoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var v any
		if err := json.NewDecoder(req.Body).Decode(&v); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
		next.ServeHTTP(w, req)
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func pwCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// holds reports whether r accepts a delivery signed with secret alone.
func holds(t *testing.T, r *Receiver, secret string) bool {
	t.Helper()
	key, err := signature.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"batch.succeeded","data":{"id":"batches/probe"}}`)
	ts := r.now().Unix()
	h := http.Header{}
	h.Set("Webhook-Id", "msg_holds")
	h.Set("Webhook-Timestamp", itoa(ts))
	h.Set("Webhook-Signature", signature.SignV1(key, "msg_holds", itoa(ts), body))
	_, err = r.Verify(context.Background(), h, body)
	if err != nil && !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatal(err)
	}
	return err == nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestEnsureWebhookCreatesUpdatesAndIsIdempotent(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := newPWStack(t, pwOptions{})
	ctx := pwCtx(t, 10*time.Second)

	ph, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded", "batch.failed", "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	if ph.ID == "" || ph.URI != s.url || ph.State != WebhookEnabled || !strings.HasPrefix(ph.Secret, "whsec_") ||
		strings.Join(ph.Events, ",") != "batch.succeeded,batch.failed" {
		t.Fatalf("created %+v", ph)
	}
	if !holds(t, s.r, ph.Secret) {
		t.Fatal("the new secret was not added to the receiver")
	}
	if err := s.c.PingWebhook(ctx, ph.ID); err != nil {
		t.Fatalf("ping after create: %v", err)
	}

	again, err := s.c.EnsureWebhook(ctx, s.url, "batch.failed", "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != ph.ID || again.Secret != "" {
		t.Fatalf("second ensure %+v", again)
	}
	if n := s.emu.Calls()["webhooks.update"]; n != 0 {
		t.Fatalf("same events in another order: %d updates", n)
	}

	got, err := s.c.EnsureWebhook(ctx, s.url, "video.generated")
	if err != nil {
		t.Fatal(err)
	}
	hooks := s.emu.Webhooks()
	if len(hooks) != 1 || got.ID != ph.ID || strings.Join(hooks[0].Events, ",") != "video.generated" ||
		strings.Join(got.Events, ",") != "video.generated" {
		t.Fatalf("after changing events: %+v, emulator %+v", got, hooks)
	}

	all, err := s.c.EnsureWebhook(ctx, s.url)
	if err != nil {
		t.Fatal(err)
	}
	if !sameSet(all.Events, subscribable) {
		t.Fatalf("no events given: %v", all.Events)
	}
	if c := s.emu.Calls(); c["webhooks.create"] != 1 || c["webhooks.update"] != 2 {
		t.Fatalf("calls %v", c)
	}
}

func TestEnsureWebhookEventTypo(t *testing.T) {
	t.Parallel()
	s := newPWStack(t, pwOptions{})
	_, err := s.c.EnsureWebhook(pwCtx(t, 5*time.Second), s.url, "batch.succeeded", "batch.completed")
	var ne *EventNameError
	if !errors.As(err, &ne) || ne.Suggestion != "batch.succeeded" || !errors.Is(err, ErrUnknownEvent) {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), `"batch.completed"; did you mean "batch.succeeded"?`) {
		t.Fatalf("message %q", err)
	}
	if n := s.emu.Calls().Total(); n != 0 {
		t.Fatalf("%d API calls for a request refused locally", n)
	}
	if _, err := s.c.EnsureWebhook(context.Background(), "/relative"); !errors.Is(err, ErrInvalidWebhookURI) {
		t.Fatalf("relative uri: %v", err)
	}
}

func TestEnsureWebhookBringsBackDisabledWebhook(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	gaveUp := make(chan struct{}, 16)
	var down atomic.Bool // the endpoint answers 502, as during a bad deploy
	down.Store(true)
	s := newPWStack(t, pwOptions{
		emu: gemhooktest.Options{DisableAfter: 1, RetryBackoff: time.Millisecond, RetryHorizon: 5 * time.Millisecond,
			OnDelivery: func(d gemhooktest.Delivery) {
				if d.Result == gemhooktest.GaveUp {
					gaveUp <- struct{}{}
				}
			}},
		front: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if down.Load() {
					http.Error(w, "deploying", http.StatusBadGateway)
					return
				}
				next.ServeHTTP(w, req)
			})
		},
	})
	ctx := pwCtx(t, 10*time.Second)
	ph, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.emu.Ping(ph.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gaveUp:
	case <-ctx.Done():
		t.Fatal("the failing delivery never gave up")
	}
	if st := s.emu.Webhooks()[0].State; st != WebhookDisabledFailures {
		t.Fatalf("state %q after failed deliveries", st)
	}
	down.Store(false)

	back, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != ph.ID || back.State != WebhookEnabled || s.emu.Webhooks()[0].State != WebhookEnabled {
		t.Fatalf("after ensure: %+v / %+v", back, s.emu.Webhooks())
	}
	if l := s.logs.String(); !strings.Contains(l, "re-enabling project webhook that Gemini disabled after failed deliveries") ||
		!strings.Contains(l, ph.ID) {
		t.Fatalf("log does not say why:\n%s", l)
	}
	if err := s.c.PingWebhook(ctx, ph.ID); err != nil {
		t.Fatalf("ping after re-enabling: %v", err)
	}
}

func TestEnsureWebhookLeavesUserDisabledWebhook(t *testing.T) {
	t.Parallel()
	s := newPWStack(t, pwOptions{})
	ctx := pwCtx(t, 10*time.Second)
	ph, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.genai.Webhooks.Update(ctx, updateState(ph.ID, "disabled")); err != nil {
		t.Fatal(err)
	}
	got, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != WebhookDisabled || !strings.Contains(s.logs.String(), "disabled by a user") {
		t.Fatalf("%+v\n%s", got, s.logs.String())
	}
}

// TestRotateWhileDeliveriesFlow rotates the secret in the middle of a
// stream of deliveries: none may be rejected, the new secret works at once,
// and the old one is dropped once Gemini's 24 hours (on the shared clock)
// are over.
func TestRotateWhileDeliveriesFlow(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	const n = 200
	log := make(chan gemhooktest.Delivery, 2*n)
	s := newPWStack(t, pwOptions{emu: gemhooktest.Options{
		OnDelivery: func(d gemhooktest.Delivery) { log <- d },
	}})
	ctx := pwCtx(t, 20*time.Second)
	ph, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	old := ph.Secret

	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		close(start)
		for range n {
			if err := s.emu.Ping(ph.ID); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	<-start
	secret, err := s.c.RotateWebhookSecret(ctx, ph.ID)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if secret == old || !holds(t, s.r, secret) || !holds(t, s.r, old) {
		t.Fatal("during the window the receiver must hold both secrets")
	}
	for i := range n {
		select {
		case d := <-log:
			if d.Result != gemhooktest.Delivered || d.Attempt != 1 {
				t.Fatalf("delivery %d of the rotation window: %+v", i, d)
			}
		case <-ctx.Done():
			t.Fatalf("%d of %d deliveries made", i, n)
		}
	}
	if err := s.c.PingWebhook(ctx, ph.ID); err != nil {
		t.Fatal(err)
	}

	// A day later Gemini stops signing with the old secret, and the
	// receiver drops it: the Client's scheduler fires the retirement.
	s.clock.Advance(SecretRevocationDelay + retireSkew + time.Second)
	pokeScheduler(t, s.c)
	if holds(t, s.r, old) {
		t.Fatal("the old secret is still accepted after the revocation delay")
	}
	if !holds(t, s.r, secret) {
		t.Fatal("the new secret was dropped")
	}
	if err := s.c.PingWebhook(ctx, ph.ID); err != nil {
		t.Fatalf("ping after the old secret expired: %v", err)
	}
}

// TestRotateTwiceKeepsEarlierRetirement: a second rotation within the window
// does not postpone the first secret's removal, and retires the second.
func TestRotateTwiceKeepsEarlierRetirement(t *testing.T) {
	t.Parallel()
	s := newPWStack(t, pwOptions{})
	ctx := pwCtx(t, 10*time.Second)
	ph, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.c.RotateWebhookSecret(ctx, ph.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(12 * time.Hour)
	third, err := s.c.RotateWebhookSecret(ctx, ph.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(12*time.Hour + retireSkew + time.Second)
	pokeScheduler(t, s.c)
	if holds(t, s.r, ph.Secret) || !holds(t, s.r, second) || !holds(t, s.r, third) {
		t.Fatal("after 24h only the first secret may be gone")
	}
	s.clock.Advance(12 * time.Hour)
	pokeScheduler(t, s.c)
	if holds(t, s.r, second) || !holds(t, s.r, third) {
		t.Fatal("after 36h only the third secret may remain")
	}
	if got := s.c.hooks.current(ph.ID); len(got) != 1 || got[0] != third {
		t.Fatalf("known secrets %d", len(got))
	}
}

func TestRotateUnknownWebhook(t *testing.T) {
	t.Parallel()
	s := newPWStack(t, pwOptions{})
	if _, err := s.c.RotateWebhookSecret(pwCtx(t, 5*time.Second), "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err %v", err)
	}
	if _, err := s.c.RotateWebhookSecret(context.Background(), ""); err == nil {
		t.Fatal("empty id accepted")
	}
}

func TestPingThroughReencodingProxy(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := newPWStack(t, pwOptions{front: reencoding})
	ctx := pwCtx(t, 10*time.Second)
	ph, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	err = s.c.PingWebhook(ctx, ph.ID)
	if !errors.Is(err, ErrRejected) || reasonOf(err) != ReasonSignatureMismatch || !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), "re-encoding") || !strings.Contains(err.Error(), ph.ID) {
		t.Fatalf("message %q", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the rejection was reported only at the deadline")
	}
}

func TestPingWrongSecret(t *testing.T) {
	t.Parallel()
	t.Run("receiver lost the issued secret", func(t *testing.T) {
		s := newPWStack(t, pwOptions{})
		ctx := pwCtx(t, 10*time.Second)
		ph, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded")
		if err != nil {
			t.Fatal(err)
		}
		s.r.RemoveSecret(ph.Secret)
		err = s.c.PingWebhook(ctx, ph.ID)
		if !errors.Is(err, ErrRejected) || reasonOf(err) != ReasonWrongSecret {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("receiver has no project secret", func(t *testing.T) {
		s := newPWStack(t, pwOptions{})
		s.emu.RegisterWebhook(s.url, "batch.succeeded")
		id := s.emu.Webhooks()[0].ID
		err := s.c.PingWebhook(pwCtx(t, 10*time.Second), id)
		if reasonOf(err) != ReasonWrongSecret || !strings.Contains(err.Error(), "ReceiverConfig.Secrets") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("receiver has another secret", func(t *testing.T) {
		s := newPWStack(t, pwOptions{rcfg: ReceiverConfig{Secrets: []string{signature.EncodeSecret([]byte("0123456789abcdef0123456789abcdef"))}}})
		s.emu.RegisterWebhook(s.url, "batch.succeeded")
		id := s.emu.Webhooks()[0].ID
		err := s.c.PingWebhook(pwCtx(t, 10*time.Second), id)
		if !errors.Is(err, ErrRejected) || reasonOf(err) != ReasonRejected || !errors.Is(err, ErrNoMatchingSignature) ||
			!strings.Contains(err.Error(), "RotateWebhookSecret") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("secret from config", func(t *testing.T) {
		// The webhook was made elsewhere and its secret configured: the
		// ping verifies although this Client was never issued it.
		s := newPWStack(t, pwOptions{})
		if err := s.r.AddSecret(s.emu.RegisterWebhook(s.url, "batch.succeeded")); err != nil {
			t.Fatal(err)
		}
		if err := s.c.PingWebhook(pwCtx(t, 10*time.Second), s.emu.Webhooks()[0].ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPingNotDelivered(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	// Another service answers at the URI: Gemini is satisfied, the
	// receiver never sees the ping.
	s := newPWStack(t, pwOptions{front: func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	}})
	ph, err := s.c.EnsureWebhook(pwCtx(t, 10*time.Second), s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = s.c.PingWebhook(ctx, ph.ID)
	if !errors.Is(err, ErrNotDelivered) || reasonOf(err) != ReasonNotDelivered || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

func TestPingUnknownWebhookAndClosedClient(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := newPWStack(t, pwOptions{})
	if err := s.c.PingWebhook(pwCtx(t, 5*time.Second), "nope"); err == nil || errors.Is(err, ErrNotDelivered) {
		t.Fatalf("unknown webhook: %v", err)
	}
	if s.r.watch.n.Load() != 0 {
		t.Fatal("a watch is left open")
	}
	s.c.Close()
	if err := s.c.PingWebhook(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := s.c.EnsureWebhook(context.Background(), s.url); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	if _, err := s.c.RotateWebhookSecret(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

// TestRetirementStopsOnClose: a pending retirement is a scheduler entry,
// not a goroutine, and Close drops it.
func TestRetirementStopsOnClose(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := newPWStack(t, pwOptions{})
	ctx := pwCtx(t, 10*time.Second)
	ph, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.RotateWebhookSecret(ctx, ph.ID); err != nil {
		t.Fatal(err)
	}
	if s.c.sched.Len() != 1 {
		t.Fatalf("%d scheduled entries for one retirement", s.c.sched.Len())
	}
	s.c.Close()
	if s.c.sched.Len() != 0 {
		t.Fatal("retirement survived Close")
	}
	s.r.Close()
	s.srv.Close()
	s.emu.Close()
}

func TestObserveWithoutWatchersIsFree(t *testing.T) {
	r, err := NewReceiver(ReceiverConfig{JWKSURL: "http://127.0.0.1:1/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := http.Header{"Webhook-Id": {"x"}}
	if n := testing.AllocsPerRun(100, func() { r.watch.observe(h, nil, nil, ErrNoMatchingSignature) }); n != 0 {
		t.Fatalf("%v allocations per unwatched observation", n)
	}
}

func updateState(id, state string) operations.UpdateWebhookRequest {
	return operations.UpdateWebhookRequest{ID: id, UpdateMask: genai.Ptr("state"),
		Body: webhooks.WebhookUpdate{State: webhooks.WebhookUpdateState(state).ToPointer()}}
}

// pokeScheduler wakes the Client's scheduler, which sleeps on real time,
// so that it looks at the test clock, and returns once every entry due by
// then has fired. A poke due at the zero time is first in the heap, which
// wakes the loop; the entries due with it fire in the same pass, so a
// second poke fires only after them.
func pokeScheduler(t *testing.T, c *Client) {
	t.Helper()
	for range 2 {
		fired := make(chan struct{})
		var e reconcile.Entry
		if !c.sched.Schedule(&e, taskFunc(func(time.Time) { close(fired) }), time.Time{}) {
			t.Fatal("scheduler closed")
		}
		select {
		case <-fired:
		case <-time.After(10 * time.Second):
			t.Fatal("scheduler did not fire")
		}
	}
}

type taskFunc func(time.Time)

func (f taskFunc) Fire(at time.Time) { f(at) }

// Close ends a PingWebhook that is waiting for its ping with ErrClosed,
// however long the caller's context.
func TestPingEndsOnClose(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	s := newPWStack(t, pwOptions{front: func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	}})
	ph, err := s.c.EnsureWebhook(pwCtx(t, 10*time.Second), s.url, "batch.succeeded")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.c.PingWebhook(pwCtx(t, time.Minute), ph.ID) }()
	for s.r.watch.n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	s.c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("PingWebhook after Close = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("PingWebhook still waiting after Close")
	}
	if s.r.watch.n.Load() != 0 {
		t.Fatal("a watch is left open")
	}
}

// ListWebhooks reports what Gemini holds, including how many secrets are
// valid: one, then two while a rotated-out secret lives on.
func TestListWebhooks(t *testing.T) {
	t.Parallel()
	s := newPWStack(t, pwOptions{})
	ctx := pwCtx(t, 10*time.Second)
	if got, err := s.c.ListWebhooks(ctx); err != nil || len(got) != 0 {
		t.Fatalf("empty project: %v, %v", got, err)
	}
	ph, err := s.c.EnsureWebhook(ctx, s.url, "batch.succeeded", "video.generated")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.RotateWebhookSecret(ctx, ph.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.c.ListWebhooks(ctx)
	if err != nil || len(got) != 1 {
		t.Fatalf("%v, %v", got, err)
	}
	w := got[0]
	if w.ID != ph.ID || w.URI != s.url || w.State != WebhookEnabled || w.Secret != "" || w.NumSecrets != 2 ||
		strings.Join(w.Events, ",") != "batch.succeeded,video.generated" {
		t.Fatalf("listed %+v", w)
	}
	s.c.Close()
	if _, err := s.c.ListWebhooks(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
