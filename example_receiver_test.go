package gemhook_test

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

// The signing secret a project-level webhook returned when it was created
// (an example value).
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// sign builds the headers Gemini sends with a project-level delivery
// (Standard Webhooks v1), as a test forges them with gemhooktest.
func sign(id string, at time.Time, body string) http.Header {
	h, err := gemhooktest.SignV1(id, at, []byte(body), secret)
	if err != nil {
		log.Fatal(err)
	}
	return h
}

func ExampleNewReceiver() {
	now := time.Date(2026, 1, 22, 12, 0, 5, 0, time.UTC)
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{
		Secrets: []string{secret},
		Now:     func() time.Time { return now }, // a fixed clock, for the example only
		OnEvent: func(_ context.Context, ev *gemhook.Event) {
			fmt.Println("event:", ev.Type, ev.Resource)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	mux := http.NewServeMux()
	mux.Handle("POST /hooks/gemini", r) // or r.ListenAndServe(":8080")

	// A delivery as Gemini would POST it, retried once.
	body := `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-22T12:00:00Z","data":{"id":"batch_123456"}}`
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/hooks/gemini", strings.NewReader(body))
		req.Header = sign("msg_2kXq", now, body)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println("status:", rec.Code)
	}
	// Output:
	// event: batch.succeeded batches/batch_123456
	// status: 204
	// status: 204
}

// receiverAt returns a Receiver for secret whose clock reads *now, for
// the examples only.
func receiverAt(now *time.Time) *gemhook.Receiver {
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{
		Secrets: []string{secret},
		Now:     func() time.Time { return *now },
	})
	if err != nil {
		log.Fatal(err)
	}
	return r
}

func ExampleReceiver_Verify() {
	now := time.Date(2026, 1, 22, 12, 0, 5, 0, time.UTC)
	r := receiverAt(&now)
	defer r.Close()

	// In a serverless function: the raw headers and the exact body bytes.
	body := `{"type":"batch.failed","version":"v1","timestamp":"2026-01-22T12:00:00Z","data":{"id":"batches/b1","error_code":3,"error_message":"bad input"}}`
	h := sign("msg_7fQa", now, body)

	ev, err := r.Verify(context.Background(), h, []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.ID, ev.Scheme, ev.Type, ev.Resource, ev.Data.ErrorCode, ev.Data.ErrorMessage)

	// One byte changed: the signature no longer matches.
	_, err = r.Verify(context.Background(), h, []byte(strings.Replace(body, "b1", "b2", 1)))
	fmt.Println(errors.Is(err, gemhook.ErrNoMatchingSignature))

	// Replayed ten minutes later: outside the 5-minute tolerance.
	now = now.Add(10 * time.Minute)
	_, err = r.Verify(context.Background(), h, []byte(body))
	fmt.Println(errors.Is(err, gemhook.ErrTimestampTooOld))
	// Output:
	// msg_7fQa v1 batch.failed batches/b1 3 bad input
	// true
	// true
}

// Metadata attached to a job (WithUserMetadata) comes back in every event
// about it, decoded as encoding/json decodes an object into a map.
func ExampleEvent_userMetadata() {
	now := time.Date(2026, 1, 22, 12, 0, 5, 0, time.UTC)
	r := receiverAt(&now)
	defer r.Close()

	body := `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-22T12:00:00Z","data":{"id":"batches/b1"},` +
		`"user_metadata":{"gemhook_token":"X3t9aQ2LkVb7mR0cYp4EwA","tenant":"acme","priority":2}}`
	ev, err := r.Verify(context.Background(), sign("msg_9dPe", now, body), []byte(body))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Resource, ev.UserMetadata["tenant"], ev.UserMetadata["priority"])
	// Output: batches/b1 acme 2
}

func ExampleReceiver_AddSecret() {
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{Secrets: []string{secret}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	// After rotating the webhook's signing secret: accept both until the
	// old one expires (24 hours by default), then drop the old one.
	if err := r.AddSecret("whsec_bmV3LXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"); err != nil {
		log.Fatal(err)
	}
	r.RemoveSecret(secret)
	fmt.Println(errors.Is(r.AddSecret("whsec_not base64"), gemhook.ErrInvalidSecret))
	// Output: true
}
