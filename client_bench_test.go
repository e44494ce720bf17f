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
// that waits, with the confirming get answered at once, for each body of
// testdata/events. Each delivery names its own job, and carries that job's
// correlation token where the body has metadata. Run:
//
//	go test -run '^$' -bench DeliveryToWait -benchtime 20000x -count 3 .
func BenchmarkDeliveryToWait(b *testing.B) {
	for _, bb := range benchBodies(b) {
		b.Run("dispatch/"+bb.name, func(b *testing.B) {
			r, c := benchClient(b, ReceiverConfig{}, Fallback{Disabled: true})
			keys, toks := make([]string, b.N), make([]string, b.N)
			evs := make([]*Event, b.N)
			for i := range evs {
				toks[i] = tokenFor(bb)
				body, key := bb.forJob(i, toks[i])
				ev, err := decodeEvent(body)
				if err != nil {
					b.Fatal(err)
				}
				keys[i], evs[i] = key, ev
			}
			lat := make([]time.Duration, 0, b.N)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				f := start(context.Background(), c, instantKind, keys[i], keys[i], toks[i], nil, false)
				t0 := time.Now()
				if err := r.dispatch(ctx, evs[i], evs[i].DedupeKey()); err != nil {
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
	}
	for _, bb := range benchBodies(b) {
		b.Run("ServeHTTP/"+bb.name, func(b *testing.B) {
			key := []byte("0123456789abcdef0123456789abcdef")
			r, c := benchClient(b, ReceiverConfig{Secrets: []string{signature.EncodeSecret(key)}}, Fallback{Disabled: true})
			type delivery struct {
				key, token string
				req        *http.Request
			}
			ds := make([]delivery, b.N)
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			for i := range ds {
				tok := tokenFor(bb)
				body, jobKey := bb.forJob(i, tok)
				id := "msg_" + strconv.Itoa(i)
				req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("webhook-id", id)
				req.Header.Set("webhook-timestamp", ts)
				req.Header.Set("webhook-signature", signature.SignV1(key, id, ts, body))
				ds[i] = delivery{jobKey, tok, req}
			}
			lat := make([]time.Duration, 0, b.N)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				f := start(context.Background(), c, instantKind, ds[i].key, ds[i].key, ds[i].token, nil, false)
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
}

// tokenFor returns a fresh correlation token for a job whose events carry
// one in this body, or "" for the thin body.
func tokenFor(bb benchBody) string {
	if bb.token == "" {
		return ""
	}
	return newToken()
}

// BenchmarkPendingFutures holds 1,000 to 1,000,000 pending jobs, each
// registered in the hub with a correlation token and a fallback poll
// scheduled, and reports the time per registration (wall clock, and the
// CPU time of the whole process, garbage collection included, which a
// busy machine disturbs less), the heap the jobs take, and the goroutines
// they add. It fails above DESIGN's budget of 64 MiB per 100,000 (671 B a
// job). Run:
//
//	go test -run '^$' -bench PendingFutures -benchtime 1x -count 3 .
func BenchmarkPendingFutures(b *testing.B) {
	const budget = 64 << 20 / 100_000.0 // bytes per pending job
	for _, n := range []int{1_000, 10_000, 100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			var took, cpu time.Duration
			var bytes float64
			var goroutines int
			for range b.N {
				_, c := benchClient(b, ReceiverConfig{}, Fallback{After: time.Hour})
				names, toks := make([]string, n), make([]string, n)
				for i := range names {
					names[i] = fmt.Sprintf("batches/%024d", i)
					toks[i] = newToken()
				}
				fs := make([]*Future[*genai.BatchJob], n)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				g0 := runtime.NumGoroutine()
				t0, c0 := time.Now(), cpuTime()
				for i := range fs {
					fs[i] = start(context.Background(), c, instantKind, names[i], names[i], toks[i], nil, false)
				}
				took, cpu = took+time.Since(t0), cpu+cpuTime()-c0
				// The names and tokens are the caller's: count what gemhook
				// adds for them.
				names, toks = nil, nil
				runtime.GC()
				runtime.ReadMemStats(&after)
				goroutines = runtime.NumGoroutine() - g0
				if got := c.recv.hub.Len(); got != n {
					b.Fatalf("%d waiting, want %d", got, n)
				}
				if c.sched.Len() != n {
					b.Fatalf("%d polls scheduled, want %d", c.sched.Len(), n)
				}
				bytes = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				runtime.KeepAlive(fs)
				c.Close()
			}
			b.ReportMetric(float64(took.Nanoseconds())/float64(b.N*n), "ns/registration")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/registration")
			b.ReportMetric(bytes/(1<<20), "MiB")
			b.ReportMetric(bytes/float64(n), "B/job")
			b.ReportMetric(float64(goroutines), "goroutines")
			if bytes/float64(n) > budget {
				b.Errorf("%.0f B a pending job, over the budget of %.0f", bytes/float64(n), budget)
			}
		})
	}
}

// BenchmarkUnknownJobBurst sends 100,000 verified deliveries, each about a
// different job that nobody here waits for (the metadata body, with its own
// token), through ServeHTTP, and reports what the Receiver kept: parked
// orphans, the deliveries refused with 503 once the orphan buffer is full
// (Gemini retries them), and the heap still held once the requests are
// gone. It fails if that heap passes 32 MiB. Run:
//
//	go test -run '^$' -bench UnknownJobBurst -benchtime 1x .
func BenchmarkUnknownJobBurst(b *testing.B) {
	const burst = 100_000
	bb := benchBodies(b)[1]
	key := []byte("0123456789abcdef0123456789abcdef")
	for range b.N {
		b.StopTimer()
		r, _ := benchClient(b, ReceiverConfig{Secrets: []string{signature.EncodeSecret(key)}}, Fallback{Disabled: true})
		codes := map[int]int{}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		for i := range burst {
			body, _ := bb.forJob(i, newToken())
			id := "msg_" + strconv.Itoa(i)
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("webhook-id", id)
			req.Header.Set("webhook-timestamp", ts)
			req.Header.Set("webhook-signature", signature.SignV1(key, id, ts, body))
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			codes[w.Code]++
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		st := statsOf(r)
		held := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		if codes[http.StatusNoContent]+codes[http.StatusServiceUnavailable] != burst || st.Orphans != codes[http.StatusNoContent] {
			b.Fatalf("answers %v, %d orphans", codes, st.Orphans)
		}
		b.ReportMetric(float64(st.Orphans), "orphans")
		b.ReportMetric(float64(codes[http.StatusServiceUnavailable]), "refused-503")
		b.ReportMetric(held/(1<<20), "MiB-held")
		b.ReportMetric(held/float64(st.Orphans), "B/orphan")
		if held > 32<<20 {
			b.Errorf("the burst left %.1f MiB held", held/(1<<20))
		}
		runtime.KeepAlive(r)
	}
}
