package gemhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/genai/interactions/models/operations"
	"google.golang.org/genai/interactions/models/webhooks"

	"github.com/gemhook/gemhook/internal/signature"
)

// PingWebhook asks Gemini to ping webhook id and waits until the Client's
// Receiver has verified the ping: nil means the whole path works, from
// Gemini through any proxies to a signature check with a secret the
// Receiver holds. Otherwise it says what went wrong, within ctx's
// deadline: the ping was rejected (how, and why when that can be told), or
// it did not arrive at all. Either way the error is a *CheckError matching
// ErrRejected or ErrNotDelivered (which also wraps ctx's error). Give ctx
// a deadline: Gemini retries a failed ping for hours.
func (c *Client) PingWebhook(ctx context.Context, id string) error {
	if c.isClosed() {
		return ErrClosed
	}
	if id == "" {
		return invalidArg("PingWebhook: empty webhook id")
	}
	c.hooks.sweep()
	w := c.recv.watch.watch()
	defer w.stop()
	if _, err := c.genai.Webhooks.Ping(ctx, operations.PingWebhookRequest{ID: id, Body: &webhooks.PingWebhookRequest{}}); err != nil {
		return fmt.Errorf("gemhook: asking Gemini to ping webhook %s: %w", id, err)
	}
	var others int
	var lastOther error
	for {
		select {
		case o := <-w.ch:
			switch {
			case o.err == nil && isPing(o.ev.Type, o.ev.Resource, id):
				return nil
			case o.err == nil:
			case namesWebhook(o.body, id):
				return pingRejected(id, o, c.hooks.current(id), c.recv)
			default:
				others, lastOther = others+1, o.err
			}
		case <-c.work.ctx.Done():
			return ErrClosed
		case <-ctx.Done():
			e := &CheckError{Check: "ping", Target: id, Reason: ReasonNotDelivered, Err: ctx.Err(),
				Detail: "check that the webhook's URI leads to this receiver and that nothing in between answers for it"}
			if others > 0 {
				e.Detail += fmt.Sprintf("; meanwhile %d other deliveries were rejected, the last with: %v", others, lastOther)
			}
			if n := w.dropped.Load(); n > 0 {
				e.Detail += fmt.Sprintf("; %d deliveries arrived too fast to inspect", n)
			}
			return e
		}
	}
}

// isPing reports whether a verified event is webhook id's ping. Gemini
// documents neither the ping's type nor its data; the emulator sends
// "webhook.ping" with the webhook's id as data.id. An event that names
// another webhook is that webhook's ping (Gemini retries pings for hours),
// so the type alone counts only when the event names none.
func isPing(typ, resource, id string) bool {
	if resource != "" {
		return isWebhook(resource, id)
	}
	return typ == "ping" || strings.HasSuffix(typ, ".ping")
}

func isWebhook(resource, id string) bool {
	return resource == id || strings.HasSuffix(resource, "/"+id)
}

// namesWebhook reads an unverified body only to attribute a rejection to
// webhook id's ping; nothing else is done with it. A rejected ping that
// names no webhook cannot be attributed, and is reported with the others.
func namesWebhook(body []byte, id string) bool {
	ev, err := decodeEvent(body)
	return err == nil && isWebhook(ev.Resource, id)
}

// pingRejected explains a rejected ping. With a secret this Client was
// issued it can tell a changed body (the secret does not verify the bytes
// that arrived either) from a Receiver that lacks the secret (it does).
func pingRejected(id string, o observation, secrets []string, r *Receiver) error {
	e := &CheckError{Check: "ping", Target: id, Reason: ReasonRejected, Err: o.err}
	switch {
	case errors.Is(o.err, ErrTimestampTooOld), errors.Is(o.err, ErrTimestampTooNew):
		e.Detail = "the receiver's clock and Gemini's differ by more than the tolerance, or a proxy held the request"
	case errors.Is(o.err, ErrMissingHeader), errors.Is(o.err, ErrInvalidHeader), errors.Is(o.err, ErrInvalidTimestamp):
		e.Detail = "something between Gemini and the receiver dropped or rewrote the webhook-* headers"
	case errors.Is(o.err, ErrPayloadTooLarge):
		e.Detail = "raise ReceiverConfig.MaxBodyBytes"
	case !errors.Is(o.err, ErrNoMatchingSignature):
	case len(secrets) > 0 && signedWithAny(o.header, o.body, secrets):
		e.Reason = ReasonWrongSecret
		e.Detail = "the ping verifies with a secret this client was issued, so the receiver was built or changed without it"
	case len(secrets) > 0:
		e.Reason = ReasonSignatureMismatch
		e.Detail = "the secret this client holds for the webhook does not verify the bytes that arrived, " +
			"so they were changed on the way: a proxy or framework re-encoding the JSON body, or rewriting webhook-id or webhook-timestamp"
	case len(r.secrets.Load().keys) == 0:
		e.Reason = ReasonWrongSecret
		e.Detail = "the receiver holds no project secret: add the webhook's secret to ReceiverConfig.Secrets"
	default:
		e.Detail = "either the receiver's secrets do not include the webhook's (rotate it with RotateWebhookSecret " +
			"so this client knows it) or the body was changed on the way (a proxy re-encoding JSON)"
	}
	return e
}

// signedWithAny reports whether any v1 entry of the delivery verifies with
// one of secrets over the bytes that arrived.
func signedWithAny(h http.Header, body []byte, secrets []string) bool {
	id, ts, list, err := webhookHeaders(h)
	if err != nil {
		return false
	}
	entries, err := signature.ParseList(list)
	if err != nil {
		return false
	}
	var keys [][]byte
	for _, s := range secrets {
		if k, err := decodeSecret(s); err == nil {
			keys = append(keys, k)
		}
	}
	return signature.NewV1Verifier(keys).Match(entries, id, ts, body) >= 0
}

// observation is what the Receiver saw of one delivery: the verified event,
// or why it was rejected. Watchers only read it.
type observation struct {
	header http.Header
	body   []byte
	ev     *Event
	err    error
}

// watchers are the read-only observers of one Receiver's deliveries, for
// PingWebhook. With none registered, observing costs one atomic load.
type watchers struct {
	n   atomic.Int32 // open watches; read without the lock on every delivery
	mu  sync.Mutex
	set map[*deliveryWatch]struct{}
}

type deliveryWatch struct {
	ws      *watchers
	ch      chan observation
	dropped atomic.Int64
}

// watchBuffer bounds what one watch holds; beyond it observations are
// counted and dropped rather than slowing deliveries down.
const watchBuffer = 64

func (ws *watchers) watch() *deliveryWatch {
	w := &deliveryWatch{ws: ws, ch: make(chan observation, watchBuffer)}
	ws.mu.Lock()
	if ws.set == nil {
		ws.set = make(map[*deliveryWatch]struct{})
	}
	ws.set[w] = struct{}{}
	ws.n.Add(1)
	ws.mu.Unlock()
	return w
}

func (w *deliveryWatch) stop() {
	w.ws.mu.Lock()
	if _, ok := w.ws.set[w]; ok {
		delete(w.ws.set, w)
		w.ws.n.Add(-1)
	}
	w.ws.mu.Unlock()
}

// observe shows one delivery, verified or not, to every open watch. ServeHTTP
// calls it right after Verify; with no watch open it costs one atomic load.
func (ws *watchers) observe(h http.Header, body []byte, ev *Event, err error) {
	if ws.n.Load() == 0 {
		return
	}
	o := observation{header: h.Clone(), body: body, ev: ev, err: err}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.set {
		select {
		case w.ch <- o:
		default:
			w.dropped.Add(1)
		}
	}
}
