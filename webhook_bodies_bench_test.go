package gemhook

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchBody is one of the bodies in testdata/events that the benchmarks
// run on (bench/ reads the same files):
//
//	thin      300 B batch.succeeded, no user_metadata (Google's sample, padded)
//	metadata  309 B batch.succeeded with user_metadata: gemhook's token and two caller keys
//	failed    437 B batch.failed with an error code and message, and the metadata
//	video     521 B video.generated with its three URIs, and the metadata
//
// Every job gemhook submits with a per-request webhook, and every job a
// caller attaches metadata to, produces bodies like the last three.
type benchBody struct {
	name  string
	body  []byte
	jobID string // the job id inside body, replaced per delivery by forJob
	token string // the correlation token inside body, or ""
}

const benchToken = "X3t9aQ2LkVb7mR0cYp4EwA"

func benchBodies(tb testing.TB) []benchBody {
	tb.Helper()
	out := []benchBody{
		{name: "thin", jobID: "abc123"},
		{name: "metadata", jobID: "q7m2k9x4v1p8n3r6", token: benchToken},
		{name: "failed", jobID: "q7m2k9x4v1p8n3r6", token: benchToken},
		{name: "video", jobID: "q7m2k9x4v1p8n3r6", token: benchToken},
	}
	for i := range out {
		b, err := os.ReadFile(filepath.Join("testdata", "events", out[i].name+".json"))
		if err != nil {
			tb.Fatal(err)
		}
		out[i].body = b
	}
	return out
}

// forJob returns the body about job n with the given token (same length as
// the original, so the size stays what the table says), and the hub key
// the event routes to.
func (bb benchBody) forJob(n int, token string) (body []byte, key string) {
	id := fmt.Sprintf("j%0*d", len(bb.jobID)-1, n)
	body = bytes.ReplaceAll(bb.body, []byte(bb.jobID), []byte(id))
	if bb.token != "" {
		body = bytes.ReplaceAll(body, []byte(bb.token), []byte(token))
	}
	if bb.name == "video" {
		return body, "operations/" + id
	}
	return body, "batches/" + id
}

// BenchmarkVerify measures Receiver.Verify (v1 check and decode) on each
// body; bench/ compares it with the Standard Webhooks library in one run.
// Run: go test -run '^$' -bench '^BenchmarkVerify$' -benchmem .
func BenchmarkVerify(b *testing.B) {
	r, err := NewReceiver(ReceiverConfig{Secrets: []string{vecSecret}, JWKSURL: "http://127.0.0.1:1/"})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	for _, bb := range benchBodies(b) {
		b.Run(bb.name, func(b *testing.B) {
			hdr := signedHeader(b, vecSecret, vecID, strconv.FormatInt(time.Now().Unix(), 10), bb.body)
			b.SetBytes(int64(len(bb.body)))
			b.ReportAllocs()
			for b.Loop() {
				ev, err := r.Verify(ctx, hdr, bb.body)
				if err != nil || ev.Resource == "" {
					b.Fatal(ev, err)
				}
			}
		})
	}
}
