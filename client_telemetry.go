package gemhook

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genai"
	gi "google.golang.org/genai/interactions/models/interactions"
)

// watchObs is what a pending job keeps for its telemetry. Only the job's
// running check touches it, so it needs no lock.
type watchObs struct {
	how      SettledBy // what prompted the last look that may settle the job
	attach   bool      // the next get is an attach's first look
	expect   bool      // submitted here: a webhook was expected
	rejected uint64    // the Receiver's rejections when the job was registered
}

// submitSpan runs one submission under a span that is a child of the
// caller's ctx; the job's PendingJob keeps the span's context, so that the
// job's later spans join its trace and its deliveries link to it.
func submitSpan[T any](ctx context.Context, c *Client, k JobKind, submit func(context.Context) *Future[T]) *Future[T] {
	ctx, span := c.tel.tracer.Start(ctx, "gemhook.submit "+string(k),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrJobKind.String(string(k))))
	f := submit(ctx)
	if span.IsRecording() {
		if f.name != "" {
			span.SetAttributes(attrJobName.String(f.name))
		}
		if err := f.SubmitErr(); err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "submission failed")
		}
	}
	span.End()
	return f
}

// began counts a job that starts being waited for.
func (w *watch[T]) began(ctx context.Context, attach bool) {
	w.obs = watchObs{attach: attach, expect: !attach, rejected: w.c.recv.rejects.total.Load()}
	w.c.tel.pending.Add(ctx, 1, kindAttrs[w.kind.kind])
}

// asking says what prompts the get about to run, and counts fallback
// polls: a get that no trusted event and no attach asked for.
func (w *watch[T]) asking(ctx context.Context) SettledBy {
	w.mu.Lock()
	hinted := w.hinted
	w.mu.Unlock()
	switch {
	case hinted:
		w.obs.how = SettledByWebhook
	case w.obs.attach:
		w.obs.how, w.obs.attach = SettledByAttach, false
	default:
		w.obs.how = SettledByPoll
		w.c.tel.polls.Add(ctx, 1, kindAttrs[w.kind.kind])
	}
	return w.obs.how
}

// getting starts the span of a confirming get or poll, in the job's trace.
func (w *watch[T]) getting(ctx context.Context) (context.Context, func(error)) {
	how := w.asking(ctx)
	parent, ok := w.traced()
	if !ok {
		return ctx, func(error) {}
	}
	ctx, span := w.c.tel.tracer.Start(trace.ContextWithRemoteSpanContext(ctx, parent), "gemhook.get "+string(w.kind.kind),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrJobName.String(w.name), attrJobKind.String(string(w.kind.kind)),
			attribute.String("gemhook.get.reason", string(how))))
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "get failed")
		}
		span.End()
	}
}

// traced returns the span context of the job's submission, if it was
// sampled. A job without one (attached to, or submitted untraced) has no
// get and settle spans: they would be orphans, or dropped by the sampler.
func (w *watch[T]) traced() (trace.SpanContext, bool) {
	if w.trace == "" {
		return trace.SpanContext{}, false
	}
	sc := parentOf(w.trace)
	return sc, sc.IsValid() && sc.IsSampled()
}

// settleSpan records the settle span, in the submission's trace.
func (w *watch[T]) settleSpan(err error, attrs ...attribute.KeyValue) {
	parent, ok := w.traced()
	if !ok {
		return
	}
	_, span := w.c.tel.tracer.Start(trace.ContextWithRemoteSpanContext(context.Background(), parent),
		"gemhook.settle "+string(w.kind.kind),
		trace.WithAttributes(append(attrs, attrJobName.String(w.name), attrJobKind.String(string(w.kind.kind)))...))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "job lookup failed")
	}
	span.End()
}

// observe records how w settled: on the future, in the metrics, the logs
// and a settle span. It runs once, before the future resolves.
func (w *watch[T]) observe(v T, err error) {
	c := w.c
	ctx := context.Background()
	c.tel.pending.Add(ctx, -1, kindAttrs[w.kind.kind])
	var je *JobError
	if err != nil && !errors.As(err, &je) {
		// The job could not be looked up (it does not exist, or the key
		// may not read it): nothing settled it.
		w.settleSpan(err)
		return
	}
	s := &Settlement{By: w.obs.how, Ended: endedAt(v), Noticed: c.now()}
	if s.By == "" {
		s.By = SettledByPoll
	}
	w.Future.settlement = s
	c.tel.settled.Add(ctx, 1, settledAttrs(w.kind.kind, s.By))
	late := s.Late()
	if !s.Ended.IsZero() {
		c.tel.lateness.Record(ctx, late.Seconds(), kindAttrs[w.kind.kind])
	}
	if je != nil {
		w.settleSpan(nil, attrSettledBy.String(string(s.By)), attribute.Float64("gemhook.job.lateness", late.Seconds()),
			attribute.String("gemhook.job.state", je.State))
	} else {
		w.settleSpan(nil, attrSettledBy.String(string(s.By)), attribute.Float64("gemhook.job.lateness", late.Seconds()))
	}

	attrs := []slog.Attr{slog.String("job", w.name), slog.String("kind", string(w.kind.kind)),
		slog.String("by", string(s.By)), slog.Duration("waited", s.Noticed.Sub(time.Unix(0, w.submitted)))}
	if !s.Ended.IsZero() {
		attrs = append(attrs, slog.Duration("late", late))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "job settled", attrs...)
	if s.By == SettledByPoll && (w.obs.expect || w.token != "") {
		c.warnNoWebhook(ctx, w.token != "", w.obs.rejected, attrs)
	}
}

// warnNoWebhook says that a job whose webhook was expected settled by poll,
// and what most likely kept the webhook away.
func (c *Client) warnNoWebhook(ctx context.Context, perRequest bool, rejectedBefore uint64, attrs []slog.Attr) {
	rejected := c.recv.rejects.total.Load() - rejectedBefore
	attrs = append(attrs, slog.Uint64("rejected_deliveries", rejected))
	if rejected > 0 {
		attrs = append(attrs, slog.String("last_rejection", c.recv.rejects.lastClass()))
	}
	var causes string
	switch {
	case rejected > 0:
		causes = "deliveries reached this Receiver but failed verification: a proxy that rewrites bodies or headers, a clock far off, a webhook secret the Receiver lacks (see last_rejection)"
	case perRequest:
		causes = "no delivery arrived: the webhook URL is wrong or not reachable from the internet (a firewall, a proxy, a path the Receiver is not mounted on), or the Receiver refuses per-request deliveries (ReceiverConfig.JWKSURL)"
	default:
		causes = "no delivery arrived: no project webhook subscribes to this event (EnsureWebhook), its URL is wrong or unreachable, or a proxy in front of the Receiver drops it"
	}
	if u := redactURL(c.webhookURL); u != "" {
		attrs = append(attrs, slog.String("webhook_url", u))
	}
	attrs = append(attrs, slog.String("likely_causes", causes))
	c.log.LogAttrs(ctx, slog.LevelWarn, "job settled by the fallback poll; its webhook never came", attrs...)
}

// redactURL keeps a URL's scheme, host and path: enough to spot a wrong
// one, without a query that might carry a token.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if s == "" || err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// closed counts a job no longer waited for because its Client closed.
func (w *watch[T]) closed() {
	w.c.tel.pending.Add(context.Background(), -1, kindAttrs[w.kind.kind])
}

// settledAtOnce records a job whose Create already returned it final.
func settledAtOnce[T any](ctx context.Context, c *Client, k *kind[T], f *Future[T], v T) {
	now := c.now()
	f.settlement = &Settlement{By: SettledByAttach, Ended: endedAt(v), Noticed: now}
	c.tel.settled.Add(ctx, 1, settledAttrs(k.kind, SettledByAttach))
	c.log.LogAttrs(ctx, slog.LevelDebug, "job settled", slog.String("job", f.name),
		slog.String("kind", string(k.kind)), slog.String("by", string(SettledByAttach)))
}

// storeError counts a failed Store call.
func (t *telemetry) storeError(ctx context.Context) {
	t.storeErrors.Add(ctx, 1)
}

// endedAt is when the API says the job ended; zero when it does not say.
func endedAt(v any) time.Time {
	switch j := v.(type) {
	case *genai.BatchJob:
		if j != nil {
			return j.EndTime
		}
	case *gi.Interaction:
		if j != nil && j.Updated != nil {
			t, err := time.Parse(time.RFC3339Nano, *j.Updated)
			if err == nil {
				return t
			}
		}
	}
	return time.Time{}
}
