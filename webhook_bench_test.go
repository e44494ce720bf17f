package gemhook

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// realisticBody is testdata/events/metadata.json: a batch event as
// gemhook's own jobs produce it, with the correlation token and two caller
// keys in its user metadata.
func realisticBody(tb testing.TB) []byte {
	tb.Helper()
	for _, bb := range benchBodies(tb) {
		if bb.name == "metadata" {
			return bb.body
		}
	}
	tb.Fatal("no metadata body in testdata/events")
	return nil
}

// BenchmarkVerifyRealistic: Receiver.Verify (v1 check and decode) of a
// realistic body, with the default (global) telemetry providers. Run with
// -benchmem; compare runs of commits with and without instrumentation.
func BenchmarkVerifyRealistic(b *testing.B) {
	benchVerify(b, ReceiverConfig{Secrets: []string{vecSecret}, JWKSURL: "http://127.0.0.1:1/"})
}

func benchVerify(b *testing.B, cfg ReceiverConfig) {
	r, err := NewReceiver(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	key, _ := decodeSecret(vecSecret)
	body := realisticBody(b)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	h := http.Header{}
	h.Set("Webhook-Id", "msg_bench")
	h.Set("Webhook-Timestamp", ts)
	h.Set("Webhook-Signature", signature.SignV1(key, "msg_bench", ts, body))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.Verify(ctx, h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeRealistic: one signed delivery through ServeHTTP, in
// process, with the default (global) telemetry providers. The event is one
// the Store acknowledges without keeping, so that b.N does not fill it.
func BenchmarkServeRealistic(b *testing.B) {
	r, err := NewReceiver(ReceiverConfig{Secrets: []string{vecSecret}, JWKSURL: "http://127.0.0.1:1/"})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	key, _ := decodeSecret(vecSecret)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	body := bytes.Replace(realisticBody(b), []byte("batch.succeeded"), []byte("batch.progress"), 1)
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		id := "msg_" + strconv.Itoa(i)
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Webhook-Id", id)
		req.Header.Set("Webhook-Timestamp", ts)
		req.Header.Set("Webhook-Signature", signature.SignV1(key, id, ts, body))
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
