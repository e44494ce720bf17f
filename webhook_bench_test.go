package gemhook

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// realisticBody is a batch event as gemhook's own jobs produce it: with
// user metadata and the correlation token, about 300 bytes.
const realisticBody = `{"type":"batch.succeeded","version":"v1","timestamp":"2026-11-26T10:00:00Z","data":{"id":"batches/x2k4m6q8s0u2w4y6","output_file_uri":"files/batch-x2k4m6q8s0u2w4y6-output"},"user_metadata":{"tenant":"acme","job":"nightly-2026-11-26","gemhook_token":"Vt3l2v3oK2yq1o4mYc2d0A"}}`

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
	body := []byte(realisticBody)
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
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		id := "msg_" + strconv.Itoa(i)
		body := []byte(strings.Replace(realisticBody, "batch.succeeded", "batch.progress", 1))
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
