package gemhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkServeLoopback measures deliveries per second over loopback HTTP,
// for each body of testdata/events: the Receiver against a bare handler that
// reads the body and answers 204. Clients sign every request, with a fresh
// webhook-id, for both servers, so the two differ only in the server. The
// servers take turns, in rounds of requests within one benchmark, so that
// both see the same load on a shared machine; one op is one request to
// each, and "ratio" is the Receiver's requests/s over the bare handler's.
// Run:
//
//	go test -run '^$' -bench ServeLoopback -benchtime 20000x -count 3 .
func BenchmarkServeLoopback(b *testing.B) {
	r, err := NewReceiver(ReceiverConfig{Secrets: []string{vecSecret}, JWKSURL: "http://127.0.0.1:1/"})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	bare := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	for _, bb := range benchBodies(b) {
		b.Run(bb.name, func(b *testing.B) {
			servers := [2]*loopbackServer{newLoopbackServer(b, bare), newLoopbackServer(b, r)}
			const round = 256
			var spent [2]time.Duration
			var served [2]int
			b.ResetTimer()
			for done := 0; done < b.N; done += round {
				n := min(round, b.N-done)
				for k, s := range servers {
					spent[k] += s.post(b, bb.body, n)
					served[k] += n
				}
			}
			b.StopTimer()
			rate := func(k int) float64 { return float64(served[k]) / spent[k].Seconds() }
			b.ReportMetric(rate(0), "bare-req/s")
			b.ReportMetric(rate(1), "receiver-req/s")
			b.ReportMetric(100*rate(1)/rate(0), "%-of-bare")
		})
	}
}

// loopbackServer is an httptest server and a keep-alive client for it.
type loopbackServer struct {
	url    string
	client *http.Client
	seq    atomic.Int64
}

func newLoopbackServer(b *testing.B, h http.Handler) *loopbackServer {
	srv := httptest.NewServer(h)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(func() { tr.CloseIdleConnections(); srv.Close() })
	return &loopbackServer{url: srv.URL + "/hooks", client: &http.Client{Transport: tr}}
}

// post sends n signed deliveries of body from 2×GOMAXPROCS concurrent
// clients and returns how long they took.
func (s *loopbackServer) post(b *testing.B, body []byte, n int) time.Duration {
	key, _ := decodeSecret(vecSecret)
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	t0 := time.Now()
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			mac := hmac.New(sha256.New, key)
			for left.Add(-1) >= 0 {
				id := "msg_" + strconv.FormatInt(s.seq.Add(1), 10)
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				mac.Reset()
				mac.Write([]byte(id + "." + ts + "."))
				mac.Write(body)
				req, _ := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Webhook-Id", id)
				req.Header.Set("Webhook-Timestamp", ts)
				req.Header.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
				res, err := s.client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusNoContent {
					b.Errorf("status %d", res.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(t0)
}
