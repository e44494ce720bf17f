package gemhooktest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
	"google.golang.org/genai"
	"google.golang.org/genai/interactions/models/apierrors"
	"google.golang.org/genai/interactions/models/operations"
	"google.golang.org/genai/interactions/models/webhooks"
)

func getWebhookReq(id string) operations.GetWebhookRequest {
	return operations.GetWebhookRequest{ID: id}
}

func apiStatus(t *testing.T, err error) int {
	t.Helper()
	var e *apierrors.APIError
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apierrors.APIError", err, err)
	}
	return e.StatusCode
}

func TestWebhooksAPI(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: -1})
	defer s.Close()
	c := newClient(t, s)
	ctx := context.Background()

	created, err := c.Webhooks.Create(ctx, operations.CreateWebhookRequest{Body: webhooks.WebhookInput{
		Name: genai.Ptr("hook-a"), URI: rc.URL + "/a",
		SubscribedEvents: []webhooks.WebhookSubscribedEvent{webhooks.WebhookSubscribedEventBatchSucceeded},
	}})
	if err != nil {
		t.Fatal(err)
	}
	w := created.Webhook
	secret := *w.NewSigningSecret
	if !strings.HasPrefix(secret, "whsec_") || len(secret) != len("whsec_")+44 {
		t.Fatalf("secret %q", secret)
	}
	if *w.State != webhooks.WebhookStateEnabled || len(w.SigningSecrets) != 1 || w.CreateTime == nil ||
		!strings.HasSuffix(*w.SigningSecrets[0].TruncatedSecret, secret[len(secret)-4:]) {
		t.Fatalf("created %+v", w)
	}
	id := *w.ID

	got, err := c.Webhooks.Get(ctx, getWebhookReq(id))
	if err != nil {
		t.Fatal(err)
	}
	if got.Webhook.NewSigningSecret != nil || got.Webhook.URI != rc.URL+"/a" || *got.Webhook.Name != "hook-a" {
		t.Fatalf("get %+v", got.Webhook)
	}

	// Paging over three webhooks, two at a time.
	for range 2 {
		s.RegisterWebhook(rc.URL + "/more")
	}
	p1, err := c.Webhooks.List(ctx, operations.ListWebhooksRequest{PageSize: genai.Ptr(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.WebhookListResponse.Webhooks) != 2 || p1.WebhookListResponse.NextPageToken == nil {
		t.Fatalf("page 1 %+v", p1.WebhookListResponse)
	}
	p2, err := c.Webhooks.List(ctx, operations.ListWebhooksRequest{PageSize: genai.Ptr(2), PageToken: p1.WebhookListResponse.NextPageToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.WebhookListResponse.Webhooks) != 1 || p2.WebhookListResponse.NextPageToken != nil {
		t.Fatalf("page 2 %+v", p2.WebhookListResponse)
	}
	if _, err := c.Webhooks.List(ctx, operations.ListWebhooksRequest{PageToken: genai.Ptr("bogus")}); apiStatus(t, err) != 400 {
		t.Fatal("bad page token accepted")
	}

	// Update with a mask; an unknown mask field is refused.
	up, err := c.Webhooks.Update(ctx, operations.UpdateWebhookRequest{ID: id, UpdateMask: genai.Ptr("state,uri"),
		Body: webhooks.WebhookUpdate{State: webhooks.WebhookUpdateStateDisabled.ToPointer(), URI: genai.Ptr(rc.URL + "/b")}})
	if err != nil {
		t.Fatal(err)
	}
	if *up.Webhook.State != webhooks.WebhookStateDisabled || up.Webhook.URI != rc.URL+"/b" || *up.Webhook.Name != "hook-a" {
		t.Fatalf("updated %+v", up.Webhook)
	}
	_, err = c.Webhooks.Update(ctx, operations.UpdateWebhookRequest{ID: id, UpdateMask: genai.Ptr("secret"),
		Body: webhooks.WebhookUpdate{Name: genai.Ptr("x")}})
	if apiStatus(t, err) != 400 {
		t.Fatal("unknown update_mask field accepted")
	}
	_, err = c.Webhooks.Update(ctx, operations.UpdateWebhookRequest{ID: id, UpdateMask: genai.Ptr("state"),
		Body: webhooks.WebhookUpdate{State: webhooks.WebhookUpdateState("disabled_due_to_failed_deliveries").ToPointer()}})
	if apiStatus(t, err) != 400 {
		t.Fatal("state disabled_due_to_failed_deliveries accepted from a caller")
	}
	if _, err := c.Webhooks.Update(ctx, operations.UpdateWebhookRequest{ID: id, UpdateMask: genai.Ptr("state"),
		Body: webhooks.WebhookUpdate{State: webhooks.WebhookUpdateStateEnabled.ToPointer()}}); err != nil {
		t.Fatal(err)
	}

	// Ping sends a signed webhook.ping.
	if _, err := c.Webhooks.Ping(ctx, operations.PingWebhookRequest{ID: id}); err != nil {
		t.Fatal(err)
	}
	h := rc.next(t)
	verifyV1(t, secret, h, time.Now())
	if env := h.envelope(t); env["type"] != PingType || h.path != "/b" {
		t.Fatalf("ping %s to %s", h.body, h.path)
	}

	// Delete, then the webhook is gone.
	if _, err := c.Webhooks.Delete(ctx, operations.DeleteWebhookRequest{ID: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Webhooks.Get(ctx, getWebhookReq(id)); apiStatus(t, err) != 404 {
		t.Fatal("deleted webhook still found")
	}
	if _, err := c.Webhooks.Delete(ctx, operations.DeleteWebhookRequest{ID: id}); apiStatus(t, err) != 404 {
		t.Fatal("second delete succeeded")
	}
	calls := s.Calls()
	if calls["webhooks.create"] != 1 || calls["webhooks.update"] != 4 || calls["webhooks.ping"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}

// After a rotation that keeps the previous secret, deliveries carry one v1
// entry per live secret, newest first; after an immediate one, only the
// newest.
func TestRotateSigningSecret(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	rc := newReceiver(t)
	s := NewServer(Options{JobDuration: -1})
	defer s.Close()
	old := s.RegisterWebhook(rc.URL)
	id := s.Webhooks()[0].ID
	c := newClient(t, s)
	ctx := context.Background()

	res, err := c.Webhooks.RotateSigningSecret(ctx, operations.RotateSigningSecretRequest{ID: id,
		Body: webhooks.RotateSigningSecretRequest{RevocationBehavior: webhooks.RevocationBehaviorRevokePreviousSecretsAfterH24.ToPointer()}})
	if err != nil {
		t.Fatal(err)
	}
	fresh := *res.WebhookRotateSigningSecretResponse.Secret
	got, err := c.Webhooks.Get(ctx, getWebhookReq(id))
	if err != nil {
		t.Fatal(err)
	}
	ss := got.Webhook.SigningSecrets
	if len(ss) != 2 || ss[0].ExpireTime != nil || ss[1].ExpireTime == nil ||
		time.Until(*ss[1].ExpireTime) < 23*time.Hour {
		t.Fatalf("signing_secrets after rotation: %+v", ss)
	}
	if err := s.Ping(id); err != nil {
		t.Fatal(err)
	}
	h := rc.next(t)
	entries := strings.Fields(h.sig())
	if len(entries) != 2 {
		t.Fatalf("want two v1 entries, got %q", h.sig())
	}
	newest, older := h, h
	newest.header = h.header.Clone()
	newest.header.Set("webhook-signature", entries[0])
	older.header = h.header.Clone()
	older.header.Set("webhook-signature", entries[1])
	verifyV1(t, fresh, newest, time.Now())
	verifyV1(t, old, older, time.Now())

	// The guide's alias, with its upper-case enum, revoking at once.
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/webhooks/"+id+"/rotate_secret",
		strings.NewReader(`{"revocation_behavior":"REVOKE_PREVIOUS_SECRETS_IMMEDIATELY"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=UTF-8" {
		t.Fatalf("rotate_secret: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if n := s.Webhooks()[0].Secrets; n != 1 {
		t.Fatalf("%d secrets after an immediate revocation", n)
	}
	if err := s.Ping(id); err != nil {
		t.Fatal(err)
	}
	if h := rc.next(t); len(strings.Fields(h.sig())) != 1 {
		t.Fatalf("want one entry, got %q", h.sig())
	}
	_, err = c.Webhooks.RotateSigningSecret(ctx, operations.RotateSigningSecretRequest{ID: id,
		Body: webhooks.RotateSigningSecretRequest{RevocationBehavior: webhooks.RevocationBehavior("sometimes").ToPointer()}})
	if apiStatus(t, err) != 400 {
		t.Fatal("unknown revocation_behavior accepted")
	}
}

func TestCheckWebhookURI(t *testing.T) {
	t.Parallel()
	for uri, ok := range map[string]bool{
		"https://example.com/hook": true,
		"http://127.0.0.1:8080/":   true,
		"ftp://example.com/hook":   false,
		"/hook":                    false,
		"https://":                 false,
		"::":                       false,
	} {
		if err := CheckWebhookURI(uri); (err == nil) != ok {
			t.Errorf("CheckWebhookURI(%q) = %v", uri, err)
		}
	}
}
