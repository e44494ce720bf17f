package gemhook

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genai"

	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/fakeclock"
	"github.com/gemhook/gemhook/internal/leaktest"
	"github.com/gemhook/gemhook/internal/signature"
)

// observed is an emulated project whose Receiver and Client report to
// recording providers and a recording logger.
type observed struct {
	emu    *gemhooktest.Server
	hooks  *httptest.Server
	r      *Receiver
	c      *Client
	secret string
	spans  *spans
	meters *meters
	logs   *logs

	mu   sync.Mutex
	sigs []string // every webhook-signature the Receiver was sent
}

func newObserved(t *testing.T, opts gemhooktest.Options, cfg Config) *observed {
	t.Helper()
	o := &observed{emu: gemhooktest.NewServer(opts), spans: newSpans(), meters: newMeters(), logs: &logs{}}
	t.Cleanup(o.emu.Close)
	o.hooks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		o.mu.Lock()
		o.sigs = append(o.sigs, req.Header.Values("Webhook-Signature")...)
		o.mu.Unlock()
		o.r.ServeHTTP(w, req)
	}))
	t.Cleanup(o.hooks.Close)
	o.secret = o.emu.RegisterWebhook(o.hooks.URL + "/hook")
	// A store set in the config, as replicas share one: outcomes then
	// carry the job, and attaching to a settled job reads it from there.
	r, err := NewReceiver(ReceiverConfig{Secrets: []string{o.secret}, JWKSURL: o.emu.JWKSURL,
		Store:  NewMemoryStore(MemoryStoreConfig{}),
		Logger: o.logs.logger(), TracerProvider: o.spans, MeterProvider: o.meters})
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	cc := o.emu.ClientConfig()
	cc.HTTPClient = &http.Client{Transport: transport}
	gc, err := genai.NewClient(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	cfg.GenAI, cfg.Receiver = gc, r
	cfg.Logger, cfg.TracerProvider, cfg.MeterProvider = o.logs.logger(), o.spans, o.meters
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.r, o.c = r, c
	t.Cleanup(func() { c.Close(); r.Close() })
	return o
}

// secrets is everything no record may hold: the webhook secret and its
// key, the API key, every signature sent, and the given extras.
func (o *observed) secrets(t *testing.T, extra ...string) []string {
	key, err := signature.DecodeSecret(o.secret)
	if err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	out := append([]string{o.secret, string(key), o.emu.ClientConfig().APIKey}, extra...)
	for _, s := range o.sigs {
		out = append(out, s)
		for _, e := range bytes.Fields([]byte(s)) {
			_, sig, _ := bytes.Cut(e, []byte(","))
			out = append(out, string(sig))
		}
	}
	return out
}

func childOf(s *recSpan, parent trace.SpanContext) bool {
	return s.parent.SpanID() == parent.SpanID() && s.sc.TraceID() == parent.TraceID()
}

// A job settled by its webhook leaves the submission span (a child of the
// caller's), the delivery's server span linked to it, Verify's span under
// the delivery, and the get and settle spans in the submission's trace;
// the metrics count one accepted v1 delivery and one job settled by
// webhook; one Debug record and no Warn; and no secret anywhere.
func TestTelemetryWebhookSettle(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	o := newObserved(t, gemhooktest.Options{JobDuration: -1, APIKey: "AIza-telemetry-test-key"},
		Config{Fallback: Fallback{Disabled: true}})
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	callerCtx, caller := o.spans.Tracer("test").Start(ctx, "caller")
	f := o.c.SubmitBatch(callerCtx, "gemini-test", inlined("x"), nil,
		WithUserMetadata(map[string]any{"tenant": "body-marker-7f3a"}))
	caller.End()
	name := f.Name()
	if name == "" {
		_, err := f.Wait(ctx)
		t.Fatalf("submit: %v", err)
	}
	if _, ok := f.Settlement(); ok {
		t.Fatal("Settlement of a pending future reports ok")
	}
	ps, err := o.c.Pending(ctx)
	if err != nil || len(ps) != 1 || ps[0].Trace == "" {
		t.Fatalf("Pending = %+v, %v; want one job with its trace", ps, err)
	}
	token := ps[0].Token
	if err := o.emu.Finish(name, gemhooktest.Succeeded); err != nil {
		t.Fatal(err)
	}
	job, err := f.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := f.Settlement()
	if !ok || s.By != SettledByWebhook || s.Ended.IsZero() || !s.Ended.Equal(job.EndTime) || s.Noticed.Before(s.Ended.Add(-time.Second)) {
		t.Fatalf("Settlement = %+v, %v; want by webhook, ended at %v", s, ok, job.EndTime)
	}

	submit := o.spans.await(t, ctx, "gemhook.submit batch", 1)[0]
	if !childOf(submit, caller.SpanContext()) || submit.attr(attrJobName) != name || submit.attr(attrJobKind) != "batch" {
		t.Errorf("submit span: parent %v, attrs %v; want a child of the caller's, naming %s", submit.parent, submit.attrs, name)
	}
	var post *recSpan
	for _, p := range o.spans.await(t, ctx, "POST", 1) {
		if p.attr(attrJobName) == name {
			post = p
		}
	}
	if post == nil {
		t.Fatalf("no delivery span names %s: %s", name, o.spans.text())
	}
	if post.kind != trace.SpanKindServer || post.attr("http.response.status_code") != "204" ||
		post.attr(attrResult) != resultAccepted || post.attr(attrScheme) != "v1" || post.attr("http.request.method") != "POST" {
		t.Errorf("delivery span: kind %v, attrs %v", post.kind, post.attrs)
	}
	if len(post.links) != 1 || post.links[0].SpanContext.SpanID() != submit.sc.SpanID() {
		t.Errorf("delivery span links %v; want the submission %v", post.links, submit.sc)
	}
	var verified bool
	for _, v := range o.spans.named("gemhook.verify") {
		verified = verified || (childOf(v, post.sc) && v.attr(attrScheme) == "v1")
	}
	if !verified {
		t.Errorf("no verify span with scheme v1 under the delivery's: %s", o.spans.text())
	}
	get := o.spans.await(t, ctx, "gemhook.get batch", 1)[0]
	settle := o.spans.await(t, ctx, "gemhook.settle batch", 1)[0]
	if !childOf(get, submit.sc) || get.attr("gemhook.get.reason") != "webhook" {
		t.Errorf("get span: parent %v, attrs %v; want the submission's child, reason webhook", get.parent, get.attrs)
	}
	if !childOf(settle, submit.sc) || settle.attr(attrSettledBy) != "webhook" || settle.attr(attrJobName) != name {
		t.Errorf("settle span: parent %v, attrs %v", settle.parent, settle.attrs)
	}

	if n, _ := o.meters.sum("gemhook.webhook.deliveries", "gemhook.webhook.scheme=v1", "gemhook.delivery.result=accepted"); n != 1 {
		t.Errorf("accepted v1 deliveries = %v, want 1:\n%s", n, o.meters.text())
	}
	if n, _ := o.meters.sum("gemhook.jobs.settled", "gemhook.job.kind=batch", "gemhook.settled.by=webhook"); n != 1 {
		t.Errorf("jobs settled by webhook = %v, want 1", n)
	}
	if n, c := o.meters.sum("gemhook.jobs.pending", "gemhook.job.kind=batch"); n != 0 || c != 2 {
		t.Errorf("pending: sum %v of %d measurements, want 0 of 2", n, c)
	}
	if _, c := o.meters.sum("gemhook.job.settle.lateness"); c != 1 {
		t.Errorf("lateness recorded %d times, want 1", c)
	}
	if _, c := o.meters.sum("gemhook.fallback.polls"); c != 0 {
		t.Errorf("%d fallback polls counted, want 0", c)
	}
	if d := o.logs.at(slog.LevelDebug, "job settled"); len(d) != 1 || d[0].attrs["by"] != "webhook" || d[0].attrs["job"] != name {
		t.Errorf("Debug settle records %+v; want one, by webhook", d)
	}
	if w := o.logs.at(slog.LevelWarn, ""); len(w) != 0 {
		t.Errorf("Warn records %+v; want none", w)
	}

	// Attaching to a job that has settled reads its outcome from the Store.
	again := o.c.AwaitBatch(name)
	if _, err := again.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok := again.Settlement(); !ok || s.By != SettledByStore {
		t.Errorf("Settlement after attaching to a settled job = %+v, %v; want by store", s, ok)
	}
	noSecrets(t, o.logs, o.spans, o.meters, o.secrets(t, token, "body-marker-7f3a")...)
}

// A job whose webhooks are all dropped settles by poll, and one Warn record
// names it with the likely causes.
func TestTelemetryPollWarns(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	o := newObserved(t, gemhooktest.Options{JobDuration: -1, Faults: gemhooktest.Faults{DropRate: 1}},
		Config{Fallback: Fallback{After: 20 * time.Millisecond, Every: 40 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	f := o.c.SubmitBatch(ctx, "gemini-test", inlined("x"), nil)
	name := f.Name()
	if err := o.emu.Finish(name, gemhooktest.Succeeded); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok := f.Settlement(); !ok || s.By != SettledByPoll {
		t.Fatalf("Settlement = %+v, %v; want by poll", s, ok)
	}
	w := o.logs.at(slog.LevelWarn, "fallback poll")
	if len(w) != 1 || w[0].attrs["job"] != name || w[0].attrs["likely_causes"] == "" || w[0].attrs["rejected_deliveries"] != "0" {
		t.Fatalf("Warn records %+v; want one naming %s with its likely causes", w, name)
	}
	if n, _ := o.meters.sum("gemhook.fallback.polls", "gemhook.job.kind=batch"); n < 1 {
		t.Errorf("fallback polls = %v, want at least 1", n)
	}
	if n, _ := o.meters.sum("gemhook.jobs.settled", "gemhook.settled.by=poll"); n != 1 {
		t.Errorf("jobs settled by poll = %v, want 1", n)
	}
	noSecrets(t, o.logs, o.spans, o.meters, o.secrets(t)...)
}

// A job that has already ended when a Client attaches to it settles by
// attach, without a Warn: nobody promised it a webhook.
func TestTelemetryAttach(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	o := newObserved(t, gemhooktest.Options{JobDuration: -1, Faults: gemhooktest.Faults{DropRate: 1}},
		Config{Fallback: Fallback{Disabled: true}})
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	job, err := o.c.genai.Batches.Create(ctx, "gemini-test", inlined("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.emu.Finish(job.Name, gemhooktest.Failed); err != nil {
		t.Fatal(err)
	}
	f := o.c.AwaitBatch(job.Name)
	if _, err := f.Wait(ctx); err == nil {
		t.Fatal("a failed job settled without a JobError")
	}
	if s, ok := f.Settlement(); !ok || s.By != SettledByAttach {
		t.Fatalf("Settlement = %+v, %v; want by attach", s, ok)
	}
	if w := o.logs.at(slog.LevelWarn, ""); len(w) != 0 {
		t.Errorf("Warn records %+v; want none", w)
	}
	if n, _ := o.meters.sum("gemhook.jobs.settled", "gemhook.settled.by=attach"); n != 1 {
		t.Errorf("jobs settled by attach = %v, want 1", n)
	}
}

// 10,000 forged deliveries cost a bounded number of log records, each with
// the class of the failure; later records say how many were left out. The
// metric counts every one.
func TestForgedFloodLogsBounded(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(time.Unix(1_800_000_000, 0))
	l, sp, m := &logs{}, newSpans(), newMeters()
	secret := "whsec_" + "dGVsZW1ldHJ5LXRlc3Qtc2VjcmV0LTMyLWJ5dGVzIQ=="
	r, err := NewReceiver(ReceiverConfig{Secrets: []string{secret}, Now: clock.Now, JWKSURL: "http://127.0.0.1:1/jwks.json",
		Logger: l.logger(), TracerProvider: sp, MeterProvider: m})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body := []byte(`{"type":"batch.succeeded","version":"v1","timestamp":"2027-01-15T08:00:00Z","data":{"id":"batches/forged-body-marker"}}`)
	forged := []byte("an attacker's key, 32 bytes long")
	var sigs []string
	flood := func(n int) {
		for i := range n {
			id := "msg_" + strconv.Itoa(i)
			ts := strconv.FormatInt(clock.Now().Unix(), 10)
			sig := signature.SignV1(forged, id, ts, body)
			if i < 3 {
				sigs = append(sigs, sig)
			}
			req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Webhook-Id", id)
			req.Header.Set("Webhook-Timestamp", ts)
			req.Header.Set("Webhook-Signature", sig)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("forged delivery answered %d", w.Code)
			}
		}
	}
	flood(10_000)
	recs := l.at(slog.LevelWarn, "webhook delivery rejected")
	if len(recs) != rejectBurst {
		t.Fatalf("10,000 forgeries at one instant made %d Warn records, want %d", len(recs), rejectBurst)
	}
	if recs[0].attrs["reason"] != "no_matching_signature" {
		t.Errorf("record %+v; want reason no_matching_signature", recs[0])
	}
	clock.Advance(time.Hour)
	flood(10_000)
	recs = l.at(slog.LevelWarn, "webhook delivery rejected")
	if len(recs) != 2*rejectBurst {
		t.Fatalf("after an hour, another 10,000 made %d records in all, want %d", len(recs), 2*rejectBurst)
	}
	if got := recs[rejectBurst].attrs["left_out"]; got != fmt.Sprint(10_000-rejectBurst) {
		t.Errorf("first record after the pause: left_out %q, want %d", got, 10_000-rejectBurst)
	}
	if got := recs[rejectBurst].attrs["left_out_by_reason.no_matching_signature"]; got != fmt.Sprint(10_000-rejectBurst) {
		t.Errorf("left_out_by_reason %q", got)
	}
	if n, _ := m.sum("gemhook.webhook.deliveries", "gemhook.delivery.result=rejected", "error.type=no_matching_signature"); n != 20_000 {
		t.Errorf("rejected deliveries counted %v, want 20000", n)
	}
	if got := r.rejects.total.Load(); got != 20_000 {
		t.Errorf("rejections %d, want 20000", got)
	}
	key, _ := signature.DecodeSecret(secret)
	noSecrets(t, l, sp, m, append(sigs, secret, string(key), string(forged), string(body), "forged-body-marker")...)
}

// Each result of a delivery is counted once, with its class: accepted,
// duplicate, rejected before and after Verify, unavailable after Close.
func TestDeliveryResultsCounted(t *testing.T) {
	t.Parallel()
	l, sp, m := &logs{}, newSpans(), newMeters()
	r, err := NewReceiver(ReceiverConfig{Secrets: []string{vecSecret}, JWKSURL: "http://127.0.0.1:1/jwks.json",
		Logger: l.logger(), TracerProvider: sp, MeterProvider: m})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	key, _ := decodeSecret(vecSecret)
	body := realisticBody(t)
	post := func(method, id string, sign bool) int {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req := httptest.NewRequest(method, "/hook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Webhook-Id", id)
		req.Header.Set("Webhook-Timestamp", ts)
		sig := "v1,AAAA"
		if sign {
			sig = signature.SignV1(key, id, ts, body)
		}
		req.Header.Set("Webhook-Signature", sig)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	codes := []int{post("POST", "msg_1", true), post("POST", "msg_1", true), post("PUT", "msg_2", true), post("POST", "msg_3", false)}
	r.Close()
	codes = append(codes, post("POST", "msg_4", true))
	if fmt.Sprint(codes) != "[204 204 405 401 503]" {
		t.Fatalf("answers %v", codes)
	}
	for _, c := range []struct {
		want  []string
		count float64
	}{
		{[]string{"gemhook.delivery.result=accepted", "gemhook.webhook.scheme=v1"}, 1},
		{[]string{"gemhook.delivery.result=duplicate", "gemhook.webhook.scheme=v1"}, 1},
		{[]string{"gemhook.delivery.result=rejected", "error.type=method_not_allowed"}, 1},
		{[]string{"gemhook.delivery.result=rejected", "error.type=no_matching_signature", "gemhook.webhook.scheme=none"}, 1},
		{[]string{"gemhook.delivery.result=unavailable"}, 1},
	} {
		if n, _ := m.sum("gemhook.webhook.deliveries", c.want...); n != c.count {
			t.Errorf("deliveries %v = %v, want %v\n%s", c.want, n, c.count, m.text())
		}
	}
	if n, _ := m.sum("gemhook.webhook.deliveries"); n != 5 {
		t.Errorf("%v deliveries counted, want 5", n)
	}
	if got := len(sp.named("HTTP")) + len(sp.named("PUT")); got != 1 {
		t.Errorf("the PUT made %d spans named PUT, want 1", got)
	}
	noSecrets(t, l, sp, m, vecSecret, string(key), string(body), "Vt3l2v3oK2yq1o4mYc2d0A")
}
