package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// One run with the SDK: the submission is the caller's child, the
// delivery's server span links to it, the get and settle spans sit in its
// trace, and every span and metric emitted is listed in the README's
// Observability section.
func TestSpansAndMetricsWithTheSDK(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spans := tracetest.NewInMemoryExporter()
	reader := sdkmetric.NewManualReader()
	rm, err := run(ctx, io.Discard, keep{spans}, reader)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]tracetest.SpanStub{}
	for _, s := range spans.GetSpans() {
		byName[s.Name] = append(byName[s.Name], s)
	}
	one := func(name string) tracetest.SpanStub {
		t.Helper()
		if len(byName[name]) == 0 {
			t.Fatalf("no %q span among %v", name, names(byName))
		}
		return byName[name][0]
	}
	caller, submit := one("handle request"), one("gemhook.submit batch")
	if submit.Parent.SpanID() != caller.SpanContext.SpanID() {
		t.Errorf("the submission's parent is %v, want the caller's span", submit.Parent)
	}
	var linked bool
	for _, post := range byName["POST"] {
		for _, l := range post.Links {
			linked = linked || l.SpanContext.SpanID() == submit.SpanContext.SpanID()
		}
		if post.SpanKind != trace.SpanKindServer {
			t.Errorf("delivery span kind %v", post.SpanKind)
		}
	}
	if !linked {
		t.Error("no delivery span links to the submission")
	}
	for _, name := range []string{"gemhook.get batch", "gemhook.settle batch"} {
		if s := one(name); s.Parent.SpanID() != submit.SpanContext.SpanID() || s.SpanContext.TraceID() != submit.SpanContext.TraceID() {
			t.Errorf("%s is not in the submission's trace", name)
		}
	}

	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Observability")
	if !ok {
		t.Fatal("README has no Observability section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for name := range byName {
		if strings.HasPrefix(name, "gemhook.") || name == "POST" {
			if !strings.Contains(section, "`"+name+"`") && !strings.Contains(section, "`"+strings.Fields(name)[0]+" <kind>`") {
				t.Errorf("span %q is not listed in the README", name)
			}
		}
	}
	var metrics []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			metrics = append(metrics, m.Name)
			if !strings.Contains(section, "`"+m.Name+"`") {
				t.Errorf("metric %q is not listed in the README", m.Name)
			}
		}
	}
	for _, want := range []string{"gemhook.webhook.deliveries", "gemhook.jobs.settled", "gemhook.jobs.pending", "gemhook.job.settle.lateness"} {
		if !strings.Contains(strings.Join(metrics, " "), want) {
			t.Errorf("metric %s was not emitted; have %v", want, metrics)
		}
	}
}

func names(m map[string][]tracetest.SpanStub) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// keep holds on to the spans when the provider shuts down (the in-memory
// exporter forgets them then).
type keep struct{ *tracetest.InMemoryExporter }

func (keep) Shutdown(context.Context) error { return nil }
