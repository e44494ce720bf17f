package gemhook

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/internal/signature"
)

// instantKind settles on its first get without any network: the
// benchmarks measure gemhook's own path, not a confirming get.
var instantKind = &kind[*genai.BatchJob]{
	name: "bench",
	get: func(_ context.Context, _ *Client, name string) (*genai.BatchJob, error) {
		return &genai.BatchJob{Name: name, State: genai.JobStateSucceeded}, nil
	},
	settled: batchSettled,
}

func benchClient(b *testing.B, rcfg ReceiverConfig, fb Fallback) (*Receiver, *Client) {
	b.Helper()
	rcfg.JWKSURL = "http://127.0.0.1:1/jwks.json"
	r, err := NewReceiver(rcfg)
	if err != nil {
		b.Fatal(err)
	}
	gc, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey: "unused", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: "http://127.0.0.1:1"}, // never called
	})
	if err != nil {
		b.Fatal(err)
	}
	c, err := New(Config{GenAI: gc, Receiver: r, Fallback: fb})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close(); r.Close() })
	return r, c
}

func reportLatency(b *testing.B, d []time.Duration) {
	slices.Sort(d)
	q := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Nanoseconds()) }
	b.ReportMetric(q(0.50), "p50-ns")
	b.ReportMetric(q(0.99), "p99-ns")
}

// BenchmarkDeliveryToWait: from a verified event entering dispatch (or a
// signed delivery entering ServeHTTP) to Wait returning in the goroutine
// that waits, with the confirming get answered at once.
func BenchmarkDeliveryToWait(b *testing.B) {
	b.Run("dispatch", func(b *testing.B) {
		r, c := benchClient(b, ReceiverConfig{}, Fallback{Disabled: true})
		names := make([]string, b.N)
		for i := range names {
			names[i] = "batches/d" + strconv.Itoa(i)
		}
		lat := make([]time.Duration, 0, b.N)
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			f := start(ctx, c, instantKind, names[i], names[i], "", nil, false)
			ev := &Event{Type: "batch.succeeded", Resource: names[i]}
			t0 := time.Now()
			if err := r.dispatch(ctx, ev); err != nil {
				b.Fatal(err)
			}
			if _, err := f.Wait(ctx); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		reportLatency(b, lat)
	})
	b.Run("ServeHTTP", func(b *testing.B) {
		key := []byte("0123456789abcdef0123456789abcdef")
		r, c := benchClient(b, ReceiverConfig{Secrets: []string{signature.EncodeSecret(key)}}, Fallback{Disabled: true})
		type delivery struct {
			name string
			req  *http.Request
		}
		ds := make([]delivery, b.N)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		for i := range ds {
			name := "batches/h" + strconv.Itoa(i)
			id := "msg_" + strconv.Itoa(i)
			body := []byte(fmt.Sprintf(`{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-01T00:00:00Z","data":{"id":%q,"output_file_uri":"files/out"}}`, name))
			req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("webhook-id", id)
			req.Header.Set("webhook-timestamp", ts)
			req.Header.Set("webhook-signature", signature.SignV1(key, id, ts, body))
			ds[i] = delivery{name, req}
		}
		lat := make([]time.Duration, 0, b.N)
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			f := start(ctx, c, instantKind, ds[i].name, ds[i].name, "", nil, false)
			w := httptest.NewRecorder()
			t0 := time.Now()
			r.ServeHTTP(w, ds[i].req)
			if _, err := f.Wait(ctx); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
			if w.Code != http.StatusNoContent && w.Code != http.StatusOK {
				b.Fatalf("delivery answered %d", w.Code)
			}
		}
		b.StopTimer()
		reportLatency(b, lat)
	})
}

// BenchmarkPendingFutures holds 100,000 pending jobs, each registered in
// the hub with a fallback poll scheduled, and reports the heap they take
// and the goroutines they add.
func BenchmarkPendingFutures(b *testing.B) {
	const n = 100_000
	for range b.N {
		b.StopTimer()
		_, c := benchClient(b, ReceiverConfig{}, Fallback{After: time.Hour})
		names := make([]string, n)
		for i := range names {
			names[i] = "batches/p" + strconv.Itoa(i)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		b.StartTimer()
		fs := make([]*Future[*genai.BatchJob], n)
		ctx := context.Background()
		for i := range fs {
			fs[i] = start(ctx, c, instantKind, names[i], names[i], newToken(), nil, false)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		g1 := runtime.NumGoroutine()
		if got := c.recv.hub.Len(); got != n {
			b.Fatalf("%d waiting, want %d", got, n)
		}
		if c.sched.Len() != n {
			b.Fatalf("%d polls scheduled, want %d", c.sched.Len(), n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB/100k")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/future")
		b.ReportMetric(float64(g1-g0), "goroutines")
		runtime.KeepAlive(fs)
		c.Close()
	}
}
