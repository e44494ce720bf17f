package gemhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Another webhook's ping, arriving while one is awaited, says nothing
// about the awaited one: rejected, it is not blamed on it, and verified,
// it does not pass for it.
func TestPingVerdictComesFromItsOwnWebhook(t *testing.T) {
	t.Parallel()
	for _, holdsA := range []bool{false, true} {
		name := map[bool]string{false: "other ping rejected", true: "other ping verified"}[holdsA]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			seenA := make(chan struct{}, 8)
			s := newPWStack(t, pwOptions{front: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					next.ServeHTTP(w, req)
					seenA <- struct{}{}
				})
			}})
			secretA := s.emu.RegisterWebhook(s.url, "batch.succeeded")
			idA := s.emu.Webhooks()[0].ID
			if holdsA {
				if err := s.r.AddSecret(secretA); err != nil {
					t.Fatal(err)
				}
			}
			// B's URI leads to another service. When B's ping gets there,
			// PingWebhook is waiting: A's ping (a retry, say) arrives then.
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNoContent)
				go s.emu.Ping(idA)
			}))
			t.Cleanup(other.Close)
			s.emu.RegisterWebhook(other.URL+"/hook", "batch.succeeded")
			var idB string
			for _, h := range s.emu.Webhooks() {
				if h.ID != idA {
					idB = h.ID
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := s.c.PingWebhook(ctx, idB)
			select {
			case <-seenA:
			default:
				t.Fatal("A's ping did not arrive while B's was awaited")
			}
			if !errors.Is(err, ErrNotDelivered) || errors.Is(err, ErrRejected) {
				t.Fatalf("B's ping: %v", err)
			}
		})
	}
}

// reasonOf is the reason of a *CheckError in err's chain, or "".
func reasonOf(err error) CheckReason {
	if ce, ok := errors.AsType[*CheckError](err); ok {
		return ce.Reason
	}
	return ""
}
