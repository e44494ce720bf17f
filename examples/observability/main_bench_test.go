package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
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
	key := []byte("0123456789abcdef0123456789abcdef")
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{
		Secrets: []string{"whsec_" + base64.StdEncoding.EncodeToString(key)},
		JWKSURL: "http://127.0.0.1:1/", TracerProvider: tp, MeterProvider: mp,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		id := "msg_" + strconv.Itoa(i)
		body := []byte(fmt.Sprintf(`{"type":"batch.progress","version":"v1","timestamp":"2026-11-26T10:00:00Z","data":{"id":"batches/b%d","output_file_uri":"files/out"},"user_metadata":{"tenant":"acme","gemhook_token":"Vt3l2v3oK2yq1o4mYc2d0A"}}`, i))
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", id, ts, body)
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Webhook-Id", id)
		req.Header.Set("Webhook-Timestamp", ts)
		req.Header.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
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
