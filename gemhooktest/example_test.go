package gemhooktest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
)

// A test of code behind a Receiver can forge the delivery it needs without
// running a Server: sign a body with the project webhook's secret.
func ExampleSignV1() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the webhook's, in a real test
	now := time.Date(2026, 1, 22, 12, 0, 5, 0, time.UTC)
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{
		Secrets: []string{secret},
		Now:     func() time.Time { return now },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	body := `{"type":"batch.failed","version":"v1","timestamp":"2026-01-22T12:00:00Z","data":{"id":"batches/b1","error_code":3,"error_message":"bad input"}}`
	h, err := gemhooktest.SignV1("msg_1", now, []byte(body), secret)
	if err != nil {
		log.Fatal(err)
	}
	ev, err := r.Verify(context.Background(), h, []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Scheme, ev.Type, ev.Resource, ev.Data.ErrorMessage)

	// Or through ServeHTTP, as Gemini would post it.
	req := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(body))
	req.Header = h
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	// Signed with another secret: refused.
	h, err = gemhooktest.SignV1("msg_2", now, []byte(body), "whsec_dGhpcyBpcyBub3QgdGhlIHJpZ2h0IHNlY3JldA==")
	if err != nil {
		log.Fatal(err)
	}
	_, err = r.Verify(context.Background(), h, []byte(body))
	fmt.Println(errors.Is(err, gemhook.ErrNoMatchingSignature))
	// Output:
	// v1 batch.failed batches/b1 bad input
	// 204
	// true
}

// A per-request delivery is signed with the Server's keys, which a Receiver
// fetches from its JWKSURL.
func ExampleServer_Sign() {
	s := gemhooktest.NewServer(gemhooktest.Options{})
	defer s.Close()
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{JWKSURL: s.JWKSURL})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	body := `{"type":"video.generated","version":"v1","timestamp":"2026-01-22T12:00:00Z","data":{"id":"models/veo/operations/op1"}}`
	h, err := s.Sign("msg_3", time.Now(), []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	ev, err := r.Verify(context.Background(), h, []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Scheme, ev.Type, ev.Resource)
	// Output: v1a video.generated models/veo/operations/op1
}
