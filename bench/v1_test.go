package bench

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const v1Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// bodies are the event bodies of testdata/events at the repository root,
// the ones the root package's benchmarks use: a 300-byte thin payload
// without metadata, and three as gemhook's own jobs produce them, with
// user_metadata holding its correlation token and two caller keys (a
// batch.succeeded of 309 bytes, a batch.failed with its error message, a
// video.generated with its URIs).
var bodies = []string{"thin", "metadata", "failed", "video"}

func readBody(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "events", name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// signedV1 signs body now with the Standard Webhooks library, so that the
// two verifiers check the same third-party signature.
func signedV1(b testing.TB, body []byte) http.Header {
	wh, err := standardwebhooks.NewWebhook(v1Secret)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", now, body)
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{}
	h.Set("Webhook-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("Webhook-Signature", sig)
	return h
}

// BenchmarkV1Verify compares Receiver.Verify, which checks the signature
// and decodes the event, with the Standard Webhooks Go library's Verify,
// which only checks, on each body. The two run in alternating rounds in one
// benchmark, so that both see the same load on a shared machine; the
// ratio is gemhook's time over the library's. Run:
//
//	cd bench && go test -run '^$' -bench V1Verify -count 5
func BenchmarkV1Verify(b *testing.B) {
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{Secrets: []string{v1Secret}, JWKSURL: "http://127.0.0.1:1/"})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	wh, err := standardwebhooks.NewWebhook(v1Secret)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range bodies {
		b.Run(name, func(b *testing.B) {
			body := readBody(b, name)
			hdr := signedV1(b, body)
			interleave(b, func() {
				ev, err := r.Verify(ctx, hdr, body)
				if err != nil || ev.Resource == "" {
					b.Fatal(ev, err)
				}
			}, func() {
				if err := wh.Verify(body, hdr); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// interleave runs f and base in alternating rounds of calls, each call one
// op, and reports the time per call of each, their ratio, and the
// allocations per call of each. Times are the CPU time of the benchmark's
// own thread (on Linux), which other processes on a shared machine do not
// inflate; the wall-clock ratio is reported beside it.
func interleave(b *testing.B, f, base func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const round = 64
	fs := [2]func(){f, base}
	var cpu, wall [2]time.Duration
	var calls [2]int
	k, c0, t0 := 0, threadCPU(), time.Now()
	for b.Loop() {
		if calls[k]%round == 0 && calls[k] > 0 && calls[k] >= calls[1-k] {
			c, t := threadCPU(), time.Now()
			cpu[k], wall[k] = cpu[k]+c-c0, wall[k]+t.Sub(t0)
			k, c0, t0 = 1-k, c, t
		}
		fs[k]()
		calls[k]++
	}
	cpu[k], wall[k] = cpu[k]+threadCPU()-c0, wall[k]+time.Since(t0)
	per := func(d [2]time.Duration, k int) float64 {
		return float64(d[k].Nanoseconds()) / float64(max(calls[k], 1))
	}
	b.ReportMetric(per(cpu, 0), "gemhook-ns/call")
	b.ReportMetric(per(cpu, 1), "baseline-ns/call")
	if calls[0] > 0 && calls[1] > 0 {
		b.ReportMetric(per(cpu, 0)/per(cpu, 1), "ratio")
		b.ReportMetric(per(wall, 0)/per(wall, 1), "wall-ratio")
	}
	b.ReportMetric(testing.AllocsPerRun(100, f), "gemhook-allocs")
	b.ReportMetric(testing.AllocsPerRun(100, base), "baseline-allocs")
}
