package gemhook

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	mnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	tnoop "go.opentelemetry.io/otel/trace/noop"
)

// The root module depends on the OpenTelemetry API only, so its tests
// record spans, metrics and logs with the small hand-written providers
// below; examples/observability checks the same against the SDK.

// spans records every ended span and wakes whoever waits for one.
type spans struct {
	embedded.TracerProvider
	mu    sync.Mutex
	ended []*recSpan
	news  chan struct{}
}

func newSpans() *spans { return &spans{news: make(chan struct{}, 1)} }

func (p *spans) Tracer(string, ...trace.TracerOption) trace.Tracer { return tracer{p: p} }

type tracer struct {
	embedded.Tracer
	p *spans
}

func (t tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	parent := trace.SpanContextFromContext(ctx)
	var tid trace.TraceID
	var sid trace.SpanID
	rand.Read(tid[:])
	rand.Read(sid[:])
	if parent.IsValid() {
		tid = parent.TraceID()
	}
	s := &recSpan{p: t.p, name: name, kind: cfg.SpanKind(), parent: parent,
		sc:    trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
		attrs: append([]attribute.KeyValue(nil), cfg.Attributes()...), links: cfg.Links()}
	return trace.ContextWithSpan(ctx, s), s
}

type recSpan struct {
	tnoop.Span
	p      *spans
	mu     sync.Mutex
	name   string
	kind   trace.SpanKind
	parent trace.SpanContext
	sc     trace.SpanContext
	attrs  []attribute.KeyValue
	links  []trace.Link
	errs   []string
	status codes.Code
	desc   string
}

func (s *recSpan) SpanContext() trace.SpanContext { return s.sc }
func (s *recSpan) IsRecording() bool              { return true }
func (s *recSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	s.attrs = append(s.attrs, kv...)
	s.mu.Unlock()
}
func (s *recSpan) AddLink(l trace.Link) {
	s.mu.Lock()
	s.links = append(s.links, l)
	s.mu.Unlock()
}
func (s *recSpan) RecordError(err error, _ ...trace.EventOption) {
	s.mu.Lock()
	s.errs = append(s.errs, err.Error())
	s.mu.Unlock()
}
func (s *recSpan) SetStatus(c codes.Code, d string) {
	s.mu.Lock()
	s.status, s.desc = c, d
	s.mu.Unlock()
}
func (s *recSpan) End(...trace.SpanEndOption) {
	s.p.mu.Lock()
	s.p.ended = append(s.p.ended, s)
	s.p.mu.Unlock()
	select {
	case s.p.news <- struct{}{}:
	default:
	}
}

// attr is the value of key on s, "" if unset.
func (s *recSpan) attr(key attribute.Key) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, kv := range s.attrs {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// named returns the ended spans called name.
func (p *spans) named(name string) []*recSpan {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*recSpan
	for _, s := range p.ended {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// await waits until n spans called name have ended.
func (p *spans) await(t *testing.T, ctx context.Context, name string, n int) []*recSpan {
	t.Helper()
	for {
		if got := p.named(name); len(got) >= n {
			return got
		}
		select {
		case <-p.news:
		case <-ctx.Done():
			t.Fatalf("waited for %d %q spans; have %d", n, name, len(p.named(name)))
		}
	}
}

// text is everything the spans hold, for scans.
func (p *spans) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, s := range p.ended {
		s.mu.Lock()
		fmt.Fprintf(&b, "%s %v %s %v %v\n", s.name, s.attrs, s.desc, s.errs, s.links)
		s.mu.Unlock()
	}
	return b.String()
}

// meter records every measurement.
type meter struct {
	mnoop.Meter
	mu     sync.Mutex
	points []point
}

type point struct {
	name  string
	value float64
	attrs attribute.Set
}

type meters struct {
	mnoop.MeterProvider
	m *meter
}

func newMeters() *meters { return &meters{m: &meter{}} }

func (p *meters) Meter(string, ...metric.MeterOption) metric.Meter { return p.m }

func (m *meter) add(name string, v float64, opts []metric.AddOption) {
	m.mu.Lock()
	m.points = append(m.points, point{name, v, metric.NewAddConfig(opts).Attributes()})
	m.mu.Unlock()
}

func (m *meter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return counter{m: m, name: name}, nil
}

func (m *meter) Int64UpDownCounter(name string, _ ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	return upDown{m: m, name: name}, nil
}

func (m *meter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return histogram{m: m, name: name}, nil
}

type counter struct {
	mnoop.Int64Counter
	m    *meter
	name string
}

func (c counter) Add(_ context.Context, v int64, opts ...metric.AddOption) {
	c.m.add(c.name, float64(v), opts)
}
func (counter) Enabled(context.Context) bool { return true }

type upDown struct {
	mnoop.Int64UpDownCounter
	m    *meter
	name string
}

func (c upDown) Add(_ context.Context, v int64, opts ...metric.AddOption) {
	c.m.add(c.name, float64(v), opts)
}
func (upDown) Enabled(context.Context) bool { return true }

type histogram struct {
	mnoop.Float64Histogram
	m    *meter
	name string
}

func (h histogram) Record(_ context.Context, v float64, opts ...metric.RecordOption) {
	h.m.mu.Lock()
	h.m.points = append(h.m.points, point{h.name, v, metric.NewRecordConfig(opts).Attributes()})
	h.m.mu.Unlock()
}
func (histogram) Enabled(context.Context) bool { return true }

// sum adds the measurements of name whose attributes include every one of
// want ("key=value"); count is how many there were.
func (p *meters) sum(name string, want ...string) (sum float64, count int) {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
next:
	for _, pt := range p.m.points {
		if pt.name != name {
			continue
		}
		for _, w := range want {
			k, v, _ := strings.Cut(w, "=")
			got, ok := pt.attrs.Value(attribute.Key(k))
			if !ok || got.Emit() != v {
				continue next
			}
		}
		sum += pt.value
		count++
	}
	return sum, count
}

func (p *meters) text() string {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	var b strings.Builder
	for _, pt := range p.m.points {
		fmt.Fprintf(&b, "%s %v\n", pt.name, pt.attrs.ToSlice())
	}
	return b.String()
}

// logs records every slog record, attributes flattened.
type logs struct {
	mu   sync.Mutex
	recs []logRecord
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (l *logs) logger() *slog.Logger { return slog.New(logHandler{l: l}) }

type logHandler struct {
	l     *logs
	attrs []slog.Attr
}

func (h logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l: h.l, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}
func (h logHandler) WithGroup(string) slog.Handler { return h }
func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	var flat func(prefix string, a slog.Attr)
	flat = func(prefix string, a slog.Attr) {
		if a.Value.Kind() == slog.KindGroup {
			for _, g := range a.Value.Group() {
				flat(prefix+a.Key+".", g)
			}
			return
		}
		rec.attrs[prefix+a.Key] = a.Value.String()
	}
	for _, a := range h.attrs {
		flat("", a)
	}
	r.Attrs(func(a slog.Attr) bool { flat("", a); return true })
	h.l.mu.Lock()
	h.l.recs = append(h.l.recs, rec)
	h.l.mu.Unlock()
	return nil
}

// at returns the records of level lv whose message contains msg.
func (l *logs) at(lv slog.Level, msg string) []logRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logRecord
	for _, r := range l.recs {
		if r.level == lv && strings.Contains(r.msg, msg) {
			out = append(out, r)
		}
	}
	return out
}

func (l *logs) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range l.recs {
		fmt.Fprintf(&b, "%s %s %v\n", r.level, r.msg, r.attrs)
	}
	return b.String()
}

// noSecrets fails if any recorded log, span or metric holds one of
// secrets.
func noSecrets(t *testing.T, l *logs, sp *spans, m *meters, secrets ...string) {
	t.Helper()
	for what, text := range map[string]string{"logs": l.text(), "spans": sp.text(), "metrics": m.text()} {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("the %s hold a secret (%.12q...)", what, s)
			}
		}
	}
}

// settleTimeout bounds one test's waits.
const settleTimeout = 20 * time.Second
