package gemhook

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// Security review, findings 3 and 5: a job submitted with a correlation
// token settles only from events that carry it.

// sentToken reads the token of the last create from the fake's request.
func (f *fakeBatches) sentToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	wc, _ := f.lastBody["batch"].(map[string]any)["webhookConfig"].(map[string]any)
	meta, _ := wc["userMetadata"].(map[string]any)
	tok, _ := meta[TokenKey].(string)
	return tok
}

func (fx *clientFixture) deliverEvent(t *testing.T, id string, ev JobEvent, name string) {
	t.Helper()
	var meta map[string]any
	if ev.Token != "" {
		meta = map[string]any{TokenKey: ev.Token}
	}
	e := &Event{ID: id, Type: ev.Type, Resource: name, UserMetadata: meta,
		Data: EventData{ErrorCode: ev.Code, ErrorMessage: ev.Message}}
	if err := fx.r.dispatch(context.Background(), e, e.DedupeKey()); err != nil && !errors.Is(err, errDuplicate) {
		t.Fatal(err)
	}
}

// Events without the token (forged with another tenant's secret, say) cost
// at most one get between them and never become the JobError's text; the
// genuine event's text does.
func TestEventsWithoutTokenNeverSpeakForTheJob(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, noPolls)
	f := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	tok := fx.fake.sentToken()
	forged := JobEvent{Type: "batch.failed", Code: "13", Message: "attacker's text"}
	for i := range 51 {
		fx.deliverEvent(t, "msg_forged"+strconv.Itoa(i), forged, f.Name())
	}
	forged.Type = "batch.succeeded"
	fx.deliverEvent(t, "msg_forged_ok", forged, f.Name())
	fx.c.work.drain()
	if n := fx.fake.getCount(f.Name()); n > 1 {
		t.Fatalf("52 forged events cost %d gets, want at most 1", n)
	}
	select {
	case <-f.Done():
		t.Fatal("forged events settled a running job")
	default:
	}
	fx.fake.set(f.Name(), "BATCH_STATE_FAILED")
	fx.deliverEvent(t, "msg_genuine", JobEvent{Type: "batch.failed", Token: tok, Code: "9", Message: "quota"}, f.Name())
	_, err := f.Wait(waitCtx(t))
	var je *JobError
	if !errors.As(err, &je) || je.Message != "quota" || je.Code != "9" {
		t.Fatalf("Wait = %v, want the genuine event's code and text", err)
	}
	fx.c.Close()
	fx.r.Close()
}

// An event with another token that arrived first must not shadow the
// genuine early one.
func TestOrphanWithAnotherTokenDoesNotShadow(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	fx := newClientFixture(t, noPolls)
	fx.fake.onCreate = func(name string) {
		fx.fake.set(name, "BATCH_STATE_SUCCEEDED")
		fx.deliverEvent(t, "msg_other", JobEvent{Type: "batch.succeeded", Token: "someone-else"}, name)
		fx.deliverEvent(t, "msg_ours", JobEvent{Type: "batch.succeeded", Token: fx.fake.sentToken()}, name)
	}
	job, err := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil).Wait(waitCtx(t))
	if err != nil || job.State != genai.JobStateSucceeded {
		t.Fatalf("Wait = %+v, %v: the genuine early event was shadowed", job, err)
	}
	fx.c.Close()
	fx.r.Close()
}

// Two tenants' projects on one Receiver: a forgery signed with tenant A's
// secret cannot write tenant B's job's outcome text, nor settle it, when B's
// Client names its own secrets (Config.Secrets). B's jobs carry no token:
// project webhooks, no metadata.
func TestTenantSecretSpeaksOnlyForItsClient(t *testing.T) {
	t.Cleanup(leaktest.Check(t))
	const secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	const secretB = "whsec_c2Vjb25kLXRlbmFudC1zZWNyZXQtMzJieXRlcyE="
	h := newHarness(t, ReceiverConfig{Secrets: []string{secretA, secretB}, Now: time.Now})
	fake := newFakeBatches(t)
	c, err := New(Config{GenAI: fake.genai(t), Receiver: h.r, Secrets: []string{secretB}, Fallback: Fallback{Disabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	if fake.sentToken() != "" {
		t.Fatal("a project-mode job without metadata got a token; the case needs one without")
	}
	post := func(secret, id, msg string) {
		t.Helper()
		body := []byte(`{"type":"batch.failed","version":"v1","timestamp":"2026-01-02T03:04:05Z","data":{"id":"` + f.Name() + `","error_code":"13","error_message":"` + msg + `"}}`)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		if rec := h.post(signedHeader(t, secret, id, ts, body), body); rec.Code != http.StatusNoContent {
			t.Fatalf("delivery: %d", rec.Code)
		}
	}
	fake.set(f.Name(), "BATCH_STATE_FAILED")
	post(secretA, "msg_forged", "attacker's text")
	c.work.drain()
	select {
	case <-f.Done():
		_, err := f.Wait(waitCtx(t))
		var je *JobError
		if errors.As(err, &je) && je.Message == "attacker's text" {
			t.Fatalf("another tenant's secret wrote the outcome: %v", err)
		}
	default:
	}
	post(secretB, "msg_genuine", "quota")
	_, err = f.Wait(waitCtx(t))
	var je *JobError
	if !errors.As(err, &je) || je.Message == "attacker's text" {
		t.Fatalf("Wait = %v, want the genuine text or the API's", err)
	}
}

// The Receiver's own MemoryStore has no other reader: an outcome there is
// kept without the job, which would only cost a JSON encoding per job.
func TestOwnStoreKeepsNoJobValues(t *testing.T) {
	t.Parallel()
	fx := newClientFixture(t, noPolls)
	f := fx.c.SubmitBatch(waitCtx(t), "m", &genai.BatchJobSource{FileName: "files/in"}, nil)
	fx.fake.set(f.Name(), "BATCH_STATE_SUCCEEDED")
	fx.deliverEvent(t, "msg_done", JobEvent{Type: "batch.succeeded", Token: fx.fake.sentToken()}, f.Name())
	if _, err := f.Wait(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	rec, _ := fx.r.store.Lookup(context.Background(), f.Name())
	if rec.Outcome == nil || rec.Outcome.State != string(genai.JobStateSucceeded) || rec.Outcome.Value != nil {
		t.Fatalf("outcome = %+v, want the state without the job", rec.Outcome)
	}
}
