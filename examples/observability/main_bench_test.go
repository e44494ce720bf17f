package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	mnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tnoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
)

// discard is a span exporter that drops everything.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkServeHTTP: one signed delivery (an event the Store acknowledges
// without keeping, so that b.N does not fill it) through
// Receiver.ServeHTTP (in process, no network), with the global providers
// (no SDK installed), explicit no-op providers, and the SDK sampling every
// span into a discarding exporter with a manual metric reader.
func BenchmarkServeHTTP(b *testing.B) {
	sdkTP := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(discard{})))
	defer sdkTP.Shutdown(context.Background())
	sdkMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer sdkMP.Shutdown(context.Background())
	for _, c := range []struct {
		name string
		tp   trace.TracerProvider
		mp   metric.MeterProvider
	}{
		{"global", nil, nil},
		{"noop", tnoop.NewTracerProvider(), mnoop.NewMeterProvider()},
		{"sdk", sdkTP, sdkMP},
	} {
		b.Run(c.name, func(b *testing.B) { serve(b, c.tp, c.mp) })
	}
}

func serve(b *testing.B, tp trace.TracerProvider, mp metric.MeterProvider) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{
		Secrets: []string{secret},
		JWKSURL: "http://127.0.0.1:1/", TracerProvider: tp, MeterProvider: mp,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	now := time.Now()
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		id := "msg_" + strconv.Itoa(i)
		body := []byte(fmt.Sprintf(`{"type":"batch.progress","version":"v1","timestamp":"2026-11-26T10:00:00Z","data":{"id":"batches/b%d","output_file_uri":"files/out"},"user_metadata":{"tenant":"acme","gemhook_token":"Vt3l2v3oK2yq1o4mYc2d0A"}}`, i))
		h, err := gemhooktest.SignV1(id, now, body, secret)
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		req.Header = h
		reqs[i] = req
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, reqs[i])
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d", w.Code)
		}
	}
}
