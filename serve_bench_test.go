package gemhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkServeLoopback measures deliveries per second over loopback HTTP:
// the Receiver against a bare handler that answers 204 without looking at
// the request. The client signs every request in both cases, with a fresh
// webhook-id, so the two differ only in the server. Run:
//
//	go test -run '^$' -bench ServeLoopback -benchtime 3s
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
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare-204", bare}, {"receiver", r}} {
		b.Run(c.name, func(b *testing.B) { loopback(b, c.h) })
	}
}

func loopback(b *testing.B, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	key, _ := decodeSecret(vecSecret)
	body := []byte(eventBody)
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		mac := hmac.New(sha256.New, key)
		for pb.Next() {
			id := "msg_" + strconv.FormatInt(seq.Add(1), 10)
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			mac.Reset()
			mac.Write([]byte(id + "." + ts + "."))
			mac.Write(body)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hooks", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Webhook-Id", id)
			req.Header.Set("Webhook-Timestamp", ts)
			req.Header.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
			res, err := client.Do(req)
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
