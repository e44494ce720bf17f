package gemhook

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

func TestAddRemoveSecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	newSecret := "whsec_" + randB64(t, 32)
	signedNew := func(id string) delivery {
		return delivery{hdr: signedHeader(t, newSecret, id, vecTS, []byte(eventBody)), body: []byte(eventBody)}
	}
	post := func(d delivery) int { return h.post(d.hdr, d.body).Code }

	if c := post(signedNew("m1")); c != http.StatusUnauthorized {
		t.Fatalf("new secret before AddSecret: %d, want 401", c)
	}
	if err := h.r.AddSecret(newSecret); err != nil {
		t.Fatal(err)
	}
	if err := h.r.AddSecret(newSecret[6:]); err != nil { // same key, other spelling: no-op
		t.Fatal(err)
	}
	if n := len(h.r.secrets.Load().keys); n != 2 {
		t.Fatalf("%d keys after adding one twice, want 2", n)
	}
	if c := post(signedNew("m2")); c != http.StatusNoContent {
		t.Fatalf("new secret after AddSecret: %d", c)
	}
	if c := post(eventDelivery(t, "m3", eventBody)); c != http.StatusNoContent {
		t.Fatalf("old secret during rotation: %d", c)
	}
	h.r.RemoveSecret(vecSecret)
	h.r.RemoveSecret("whsec_!!!")               // not a secret: ignored
	h.r.RemoveSecret("whsec_" + randB64(t, 32)) // not configured: ignored
	if c := post(eventDelivery(t, "m4", eventBody)); c != http.StatusUnauthorized {
		t.Fatalf("old secret after RemoveSecret: %d, want 401", c)
	}
	if c := post(signedNew("m5")); c != http.StatusNoContent {
		t.Fatalf("new secret after removing the old: %d", c)
	}
	for _, bad := range []string{"", "whsec_", "whsec_!!!"} {
		if err := h.r.AddSecret(bad); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("AddSecret(%q) = %v, want ErrInvalidSecret", bad, err)
		}
	}
}

// Rotating while deliveries are verified: deliveries signed with a secret
// that stays configured all pass, under the race detector.
func TestRotationUnderLoad(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	churn := "whsec_" + randB64(t, 32)
	stop := make(chan struct{})
	var rotator sync.WaitGroup
	rotator.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := h.r.AddSecret(churn); err != nil {
				t.Error(err)
				return
			}
			h.r.RemoveSecret(churn)
		}
	})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				d := eventDelivery(t, "msg_"+strconv.Itoa(w)+"_"+strconv.Itoa(i), eventBody)
				if c := h.post(d.hdr, d.body).Code; c != http.StatusNoContent {
					t.Errorf("status %d during rotation", c)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	rotator.Wait()
	if n := h.events.Load(); n != 200 {
		t.Fatalf("OnEvent ran %d times, want 200", n)
	}
}
