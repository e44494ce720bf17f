// Command observability runs one job through the gemhook emulator with the
// OpenTelemetry SDK installed, and prints what gemhook emitted: the spans
// (submission, delivery, verify, confirming get, settle), the metrics, and
// the log records, through the SDK's stdout exporters. It also sends one
// forged delivery, to show a rejection.
//
// It is a module of its own so that the gemhook module depends on the
// OpenTelemetry API only; the SDK is the application's choice.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/genai"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := run(ctx, os.Stdout, nil, nil); err != nil {
		fmt.Fprintln(os.Stderr, "observability:", err)
		os.Exit(1)
	}
}

// run prints spans, metrics and logs to out, and returns the metrics.
// Tests pass their own span exporter and metric reader.
func run(ctx context.Context, out io.Writer, spans sdktrace.SpanExporter, reader sdkmetric.Reader) (rm metricdata.ResourceMetrics, err error) {
	if spans == nil {
		exp, err := stdouttrace.New(stdouttrace.WithWriter(out), stdouttrace.WithPrettyPrint())
		if err != nil {
			return rm, err
		}
		spans = exp
	}
	var metricsOut sdkmetric.Exporter
	if reader == nil {
		exp, err := stdoutmetric.New(stdoutmetric.WithWriter(out), stdoutmetric.WithPrettyPrint())
		if err != nil {
			return rm, err
		}
		metricsOut = exp
		reader = sdkmetric.NewManualReader()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))

	emu := gemhooktest.NewServer(gemhooktest.Options{JobDuration: 200 * time.Millisecond})
	defer emu.Close()
	var recv *gemhook.Receiver
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { recv.ServeHTTP(w, r) }))
	defer hooks.Close()
	secret := emu.RegisterWebhook(hooks.URL + "/hook")
	recv, err = gemhook.NewReceiver(gemhook.ReceiverConfig{
		Secrets: []string{secret}, JWKSURL: emu.JWKSURL,
		Logger: log, TracerProvider: tp, MeterProvider: mp,
	})
	if err != nil {
		return rm, err
	}
	defer recv.Close()
	gc, err := genai.NewClient(ctx, emu.ClientConfig())
	if err != nil {
		return rm, err
	}
	client, err := gemhook.New(gemhook.Config{
		GenAI: gc, Receiver: recv,
		Logger: log, TracerProvider: tp, MeterProvider: mp,
	})
	if err != nil {
		return rm, err
	}
	defer client.Close()

	// The caller's span: gemhook's submission span is its child.
	ctx, root := tp.Tracer("example").Start(ctx, "handle request")
	f := client.SubmitBatch(ctx, "gemini-test", &genai.BatchJobSource{
		InlinedRequests: []*genai.InlinedRequest{{
			Contents: []*genai.Content{genai.NewContentFromText("Name three rivers.", genai.RoleUser)},
		}},
	}, nil)
	root.End()
	if err := forge(hooks.URL + "/hook"); err != nil {
		return rm, err
	}
	job, err := f.Wait(ctx)
	if err != nil {
		return rm, err
	}
	s, _ := f.Settlement()
	fmt.Fprintf(out, "\n%s %s: settled by %s, %v after it ended\n\n", job.Name, job.State, s.By, s.Late().Round(time.Millisecond))

	// Shutting down flushes the spans; the metrics are collected once.
	client.Close()
	recv.Close()
	if err := tp.Shutdown(ctx); err != nil {
		return rm, err
	}
	if err := reader.Collect(ctx, &rm); err != nil {
		return rm, err
	}
	if metricsOut != nil {
		if err := metricsOut.Export(ctx, &rm); err != nil {
			return rm, err
		}
	}
	return rm, mp.Shutdown(ctx)
}

// forge posts one delivery signed with a key that is not the project's.
func forge(url string) error {
	body := []byte(`{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-01T00:00:00Z","data":{"id":"batches/forged"}}`)
	foreign := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a key that is not the project's"))
	h, err := gemhooktest.SignV1("msg_forged", time.Now(), body, foreign)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = h
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	return res.Body.Close() // the receiver's refusal shows in the spans and metrics
}
