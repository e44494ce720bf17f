package gemhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gemhook/gemhook/internal/keyset"
)

// instrumentation names gemhook's tracer and meter.
const instrumentation = "github.com/gemhook/gemhook"

// Attribute keys. Job attributes carry the resource name and kind, never
// metadata or tokens.
const (
	attrJobName   = attribute.Key("gemhook.job.name")
	attrJobKind   = attribute.Key("gemhook.job.kind")
	attrScheme    = attribute.Key("gemhook.webhook.scheme")
	attrEventType = attribute.Key("gemhook.event.type")
	attrResult    = attribute.Key("gemhook.delivery.result")
	attrSettledBy = attribute.Key("gemhook.settled.by")
	attrErrorType = attribute.Key("error.type")
)

// Delivery results, the values of gemhook.delivery.result.
const (
	resultAccepted    = "accepted"
	resultDuplicate   = "duplicate"
	resultRejected    = "rejected"
	resultUnavailable = "unavailable"
)

// telemetry holds one Client's or Receiver's tracer and instruments. With
// the default (global) providers and no SDK installed, every call is a
// no-op.
type telemetry struct {
	tracer trace.Tracer

	deliveries  metric.Int64Counter       // gemhook.webhook.deliveries
	pending     metric.Int64UpDownCounter // gemhook.jobs.pending
	settled     metric.Int64Counter       // gemhook.jobs.settled
	lateness    metric.Float64Histogram   // gemhook.job.settle.lateness
	polls       metric.Int64Counter       // gemhook.fallback.polls
	fetches     metric.Int64Counter       // gemhook.keyset.fetches
	storeErrors metric.Int64Counter       // gemhook.store.errors
	resyncs     metric.Int64Counter       // gemhook.store.resyncs
}

// newTelemetry builds instruments on tp and mp, or on the global providers
// where they are nil. A provider that refuses an instrument gets a no-op
// one: observability never stops the SDK from working.
func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) *telemetry {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(instrumentation)
	t := &telemetry{tracer: tp.Tracer(instrumentation)}
	var errs []error
	count := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	t.deliveries = count("gemhook.webhook.deliveries", "{delivery}",
		"Webhook deliveries answered by the Receiver, by scheme and result (accepted, duplicate, rejected with error.type, unavailable).")
	t.settled = count("gemhook.jobs.settled", "{job}",
		"Jobs whose futures settled, by kind and by how (webhook, poll, attach, store).")
	t.polls = count("gemhook.fallback.polls", "{poll}",
		"Gets of a job that no webhook or attach prompted: the fallback polls.")
	t.fetches = count("gemhook.keyset.fetches", "{fetch}",
		"Fetches of Gemini's key set (JWKS); failures carry error.type.")
	t.storeErrors = count("gemhook.store.errors", "{error}",
		"Calls to the Store that failed.")
	t.resyncs = count("gemhook.store.resyncs", "{resync}",
		"Times the Store's hint subscription was (re)established, so that waiters read again.")
	var err error
	t.pending, err = m.Int64UpDownCounter("gemhook.jobs.pending", metric.WithUnit("{job}"),
		metric.WithDescription("Jobs this process waits for, by kind."))
	errs = append(errs, err)
	t.lateness, err = m.Float64Histogram("gemhook.job.settle.lateness", metric.WithUnit("s"),
		metric.WithDescription("Time from a job's end at Gemini to its future settling here (Wait returning), where the API reports the end."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		otel.Handle(fmt.Errorf("gemhook: instruments: %w", err))
	}
	return t
}

// kindAttrs are the attribute sets of each job kind, built once so that
// recording allocates nothing.
var kindAttrs = map[JobKind]metric.MeasurementOption{
	KindBatch:       metric.WithAttributeSet(attribute.NewSet(attrJobKind.String(string(KindBatch)))),
	KindVideos:      metric.WithAttributeSet(attribute.NewSet(attrJobKind.String(string(KindVideos)))),
	KindInteraction: metric.WithAttributeSet(attribute.NewSet(attrJobKind.String(string(KindInteraction)))),
}

// settledSets are the attribute sets of gemhook.jobs.settled.
var settledSets = func() map[[2]string]metric.MeasurementOption {
	m := make(map[[2]string]metric.MeasurementOption)
	for _, k := range []JobKind{KindBatch, KindVideos, KindInteraction} {
		for _, by := range []SettledBy{SettledByWebhook, SettledByPoll, SettledByAttach, SettledByStore} {
			m[[2]string{string(k), string(by)}] = metric.WithAttributeSet(attribute.NewSet(
				attrJobKind.String(string(k)), attrSettledBy.String(string(by))))
		}
	}
	return m
}()

func settledAttrs(k JobKind, by SettledBy) metric.MeasurementOption {
	return settledSets[[2]string{string(k), string(by)}]
}

// traceParent is the W3C traceparent of the span in ctx, or "" when there
// is none: what a PendingJob keeps so that the job's later spans, on any
// replica, join the submission's trace.
func traceParent(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	carrier := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, carrier)
	return carrier["traceparent"]
}

// parentOf is the span context a PendingJob's Trace names; invalid when it
// names none.
func parentOf(tp string) trace.SpanContext {
	if tp == "" {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": tp})
	return trace.SpanContextFromContext(ctx)
}

// fetched counts one fetch of the key set.
func (t *telemetry) fetched(ctx context.Context, err error) {
	if err == nil {
		t.fetches.Add(ctx, 1)
		return
	}
	t.fetches.Add(ctx, 1, metric.WithAttributes(attrErrorType.String(fetchClass(err))))
}

// fetchClass names why a key set fetch failed without its text, which may
// hold the URL's query.
func fetchClass(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, keyset.ErrRedirect):
		return "redirect"
	}
	return "fetch_failed"
}

func attrErr(err error) slog.Attr  { return slog.String("err", err.Error()) }
func attrPath(p string) slog.Attr  { return slog.String("path", p) }
func attrID(id string) slog.Attr   { return slog.String("webhook_id", id) }
func attrStack(b []byte) slog.Attr { return slog.String("stack", string(b)) }
