package gemhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"google.golang.org/genai"
	"google.golang.org/genai/interactions/models/operations"
	"google.golang.org/genai/interactions/models/webhooks"

	"github.com/gemhook/gemhook/internal/hub"
	"github.com/gemhook/gemhook/internal/reconcile"
	"github.com/gemhook/gemhook/internal/signature"
)

// States of a project webhook, as Gemini reports them in ProjectWebhook.State.
const (
	WebhookEnabled  = "enabled"
	WebhookDisabled = "disabled" // by a user
	// WebhookDisabledFailures: Gemini gave up on the webhook after
	// deliveries kept failing; it sends it nothing until it is re-enabled.
	WebhookDisabledFailures = "disabled_due_to_failed_deliveries"
)

// SecretRevocationDelay is how long Gemini keeps signing with a webhook's
// previous secrets after RotateWebhookSecret (its default revocation).
const SecretRevocationDelay = 24 * time.Hour

// retireSkew is added to SecretRevocationDelay before an old secret is
// dropped, for clock skew between Gemini and this process.
const retireSkew = 5 * time.Minute

// maxWebhookPages bounds EnsureWebhook's listing: Gemini pages at most 1000
// webhooks, and a project with more than that is not one to guess in.
const maxWebhookPages = 20

// ErrInvalidWebhookURI: EnsureWebhook got a URI that is not an absolute
// http(s) URL, or one with credentials.
var ErrInvalidWebhookURI = errors.New("gemhook: invalid webhook URI")

// ProjectWebhook is a project-level webhook as Gemini holds it.
type ProjectWebhook struct {
	ID, URI string
	Events  []string
	State   string // WebhookEnabled, WebhookDisabled or WebhookDisabledFailures
	// Secret is the signing secret, set only when this call created the
	// webhook: Gemini shows a secret once. Store it if other processes
	// verify deliveries too.
	Secret string
}

// EnsureWebhook makes the project's webhook for uri exist, subscribed to
// exactly events (every type Gemini's API lists when none are given), and
// enabled if Gemini disabled it after failed deliveries. A webhook a user
// disabled stays disabled. A newly created webhook's secret is added to the
// Client's Receiver at once.
//
// The webhook is found by exact URI among the project's webhooks. Its
// secret cannot be read back: if the webhook already existed, the Receiver
// must already hold its secret (ReceiverConfig.Secrets), or call
// RotateWebhookSecret to get one this Client knows.
//
// Event names are checked before any call: a typo fails with an
// *EventNameError naming the closest valid type.
func (c *Client) EnsureWebhook(ctx context.Context, uri string, events ...string) (*ProjectWebhook, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	if err := checkWebhookURL(uri); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidWebhookURI, err)
	}
	if err := CheckEvents(events...); err != nil {
		return nil, err
	}
	want := uniqueEvents(events)
	st := c.projectHooks()
	st.sweep()

	found, err := c.findWebhook(ctx, uri)
	if err != nil {
		return nil, err
	}
	if found == nil {
		return c.createWebhook(ctx, st, uri, want)
	}
	ph := projectWebhook(found)
	var mask []string
	body := webhooks.WebhookUpdate{}
	if !sameSet(ph.Events, want) {
		mask = append(mask, "subscribed_events")
		for _, e := range want {
			body.SubscribedEvents = append(body.SubscribedEvents, webhooks.WebhookUpdateSubscribedEvent(e))
		}
	}
	switch ph.State {
	case WebhookDisabledFailures:
		mask = append(mask, "state")
		body.State = webhooks.WebhookUpdateStateEnabled.ToPointer()
		c.log.LogAttrs(ctx, slog.LevelWarn, "re-enabling project webhook that Gemini disabled after failed deliveries",
			slog.String("webhook", ph.ID), slog.String("uri", ph.URI),
			slog.String("why", "deliveries to it kept failing (no 2xx within the retry horizon); "+
				"events sent meanwhile were lost, and pending jobs are settled by fallback polls"))
	case WebhookDisabled:
		c.log.LogAttrs(ctx, slog.LevelWarn, "project webhook is disabled by a user; leaving it so",
			slog.String("webhook", ph.ID), slog.String("uri", ph.URI))
	}
	if len(mask) == 0 {
		return ph, nil
	}
	res, err := c.genai.Webhooks.Update(ctx, operations.UpdateWebhookRequest{
		ID: ph.ID, UpdateMask: genai.Ptr(strings.Join(mask, ",")), Body: body,
	})
	if err != nil {
		return nil, fmt.Errorf("gemhook: updating webhook %s (%s): %w", ph.ID, strings.Join(mask, ", "), err)
	}
	if res.Webhook == nil {
		return nil, fmt.Errorf("gemhook: updating webhook %s: empty response", ph.ID)
	}
	return projectWebhook(res.Webhook), nil
}

func (c *Client) createWebhook(ctx context.Context, st *hookState, uri string, events []string) (*ProjectWebhook, error) {
	in := webhooks.WebhookInput{URI: uri}
	for _, e := range events {
		in.SubscribedEvents = append(in.SubscribedEvents, webhooks.WebhookSubscribedEvent(e))
	}
	res, err := c.genai.Webhooks.Create(ctx, operations.CreateWebhookRequest{Body: in})
	if err != nil {
		return nil, fmt.Errorf("gemhook: creating webhook for %s: %w", uri, err)
	}
	if res.Webhook == nil || res.Webhook.ID == nil {
		return nil, fmt.Errorf("gemhook: creating webhook for %s: response has no webhook id", uri)
	}
	ph := projectWebhook(res.Webhook)
	if res.Webhook.NewSigningSecret == nil || *res.Webhook.NewSigningSecret == "" {
		return nil, fmt.Errorf("gemhook: created webhook %s, but Gemini returned no signing secret; rotate it to get one", ph.ID)
	}
	ph.Secret = *res.Webhook.NewSigningSecret
	if err := st.issued(ctx, ph.ID, ph.Secret); err != nil {
		return nil, fmt.Errorf("gemhook: created webhook %s, but its secret was refused: %w", ph.ID, err)
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "created project webhook",
		slog.String("webhook", ph.ID), slog.String("uri", uri), slog.Any("events", events))
	return ph, nil
}

// findWebhook returns the oldest webhook for exactly uri, or nil.
func (c *Client) findWebhook(ctx context.Context, uri string) (*webhooks.Webhook, error) {
	var found *webhooks.Webhook
	n := 0
	var token *string
	for range maxWebhookPages {
		res, err := c.genai.Webhooks.List(ctx, operations.ListWebhooksRequest{PageSize: genai.Ptr(1000), PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("gemhook: listing webhooks: %w", err)
		}
		if res.WebhookListResponse == nil {
			break
		}
		for i := range res.WebhookListResponse.Webhooks {
			w := &res.WebhookListResponse.Webhooks[i]
			if w.URI == uri && w.ID != nil {
				n++
				if found == nil {
					found = w
				}
			}
		}
		token = res.WebhookListResponse.NextPageToken
		if token == nil || *token == "" {
			break
		}
	}
	if n > 1 {
		c.log.LogAttrs(ctx, slog.LevelWarn, "several project webhooks deliver to one URI; each event arrives once per webhook",
			slog.String("uri", uri), slog.Int("webhooks", n), slog.String("using", *found.ID))
	}
	return found, nil
}

// RotateWebhookSecret asks Gemini for a new signing secret for webhook id,
// keeping the previous ones valid for SecretRevocationDelay (Gemini's
// default). The new secret is added to the Client's Receiver before this
// returns; the previous secrets this Client knows (from EnsureWebhook or an
// earlier rotation) are removed from it once the delay has passed. Secrets
// the Client never saw, such as those in ReceiverConfig.Secrets, are left
// for the caller to remove after the delay.
func (c *Client) RotateWebhookSecret(ctx context.Context, id string) (secret string, err error) {
	if c.isClosed() {
		return "", ErrClosed
	}
	if id == "" {
		return "", fmt.Errorf("gemhook: RotateWebhookSecret: empty webhook id")
	}
	st := c.projectHooks()
	st.sweep()
	res, err := c.genai.Webhooks.RotateSigningSecret(ctx, operations.RotateSigningSecretRequest{
		ID: id,
		Body: webhooks.RotateSigningSecretRequest{
			RevocationBehavior: webhooks.RevocationBehaviorRevokePreviousSecretsAfterH24.ToPointer(),
		},
	})
	if err != nil {
		return "", fmt.Errorf("gemhook: rotating the secret of webhook %s: %w", id, err)
	}
	r := res.WebhookRotateSigningSecretResponse
	if r == nil || r.Secret == nil || *r.Secret == "" {
		return "", fmt.Errorf("gemhook: rotating the secret of webhook %s: response has no secret", id)
	}
	if err := st.rotated(ctx, id, *r.Secret); err != nil {
		return "", fmt.Errorf("gemhook: rotated the secret of webhook %s, but the new one was refused: %w", id, err)
	}
	return *r.Secret, nil
}

func projectWebhook(w *webhooks.Webhook) *ProjectWebhook {
	ph := &ProjectWebhook{URI: w.URI}
	if w.ID != nil {
		ph.ID = *w.ID
	}
	if w.State != nil {
		ph.State = string(*w.State)
	}
	for _, e := range w.SubscribedEvents {
		ph.Events = append(ph.Events, string(e))
	}
	return ph
}

// uniqueEvents drops repeats, keeping the caller's order; none means every
// type of the API's enum.
func uniqueEvents(events []string) []string {
	if len(events) == 0 {
		return slices.Clone(subscribable)
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// hookState is what a Client knows of its project webhooks' secrets: the
// ones it was issued, and when each previous one stops being needed. One
// scheduler entry covers every retirement, fired on the Client's scheduler,
// so Close stops it with the rest.
type hookState struct {
	sched interface {
		Schedule(*reconcile.Entry, reconcile.Task, time.Time) bool
	}
	now  func() time.Time
	log  *slog.Logger
	recv *Receiver // nil until the Client knows its Receiver (see receiverOf)

	mu    sync.Mutex
	known map[string][]knownSecret // webhook id -> secrets, newest first
	entry reconcile.Entry
	due   time.Time // when entry fires; zero: not scheduled
}

type knownSecret struct {
	value  string
	retire time.Time // zero: current
}

// issued records the first secret of a new webhook and adds it to the
// Receiver.
func (st *hookState) issued(ctx context.Context, id, secret string) error {
	if err := st.add(ctx, id, secret); err != nil {
		return err
	}
	st.mu.Lock()
	st.known[id] = []knownSecret{{value: secret}}
	st.mu.Unlock()
	return nil
}

// rotated adds a rotated-in secret and schedules the retirement of the
// webhook's previous ones. A previous secret already due to retire keeps
// its earlier time, as Gemini keeps its earlier expiry.
func (st *hookState) rotated(ctx context.Context, id, secret string) error {
	if err := st.add(ctx, id, secret); err != nil {
		return err
	}
	retire := st.now().Add(SecretRevocationDelay + retireSkew)
	st.mu.Lock()
	prev := st.known[id]
	for i := range prev {
		if prev[i].retire.IsZero() {
			prev[i].retire = retire
		}
	}
	st.known[id] = append([]knownSecret{{value: secret}}, prev...)
	st.scheduleLocked()
	st.mu.Unlock()
	if len(prev) == 0 {
		st.log.LogAttrs(ctx, slog.LevelInfo, "rotated webhook secret; its previous secrets were not issued to this client: remove them from the receiver after the delay",
			slog.String("webhook", id), slog.Time("after", retire))
	} else {
		st.log.LogAttrs(ctx, slog.LevelInfo, "rotated webhook secret",
			slog.String("webhook", id), slog.Int("retiring", len(prev)), slog.Time("at", retire))
	}
	return nil
}

func (st *hookState) add(ctx context.Context, id, secret string) error {
	if _, err := decodeSecret(secret); err != nil {
		return err
	}
	r := st.receiver()
	if r == nil {
		st.log.LogAttrs(ctx, slog.LevelWarn, "no receiver to add the webhook's secret to; add it yourself",
			slog.String("webhook", id))
		return nil
	}
	return r.AddSecret(secret)
}

func (st *hookState) receiver() *Receiver {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.recv
}

// current returns the secrets this Client holds for webhook id.
func (st *hookState) current(id string) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []string
	for _, k := range st.known[id] {
		out = append(out, k.value)
	}
	return out
}

// Fire implements reconcile.Task; it runs on the scheduler's goroutine.
func (st *hookState) Fire(time.Time) { st.sweep() }

// sweep removes the secrets whose retirement is due and schedules the next.
// It runs when the entry fires and, cheaply, on every webhook call, which
// covers a clock that jumped past a pending timer.
func (st *hookState) sweep() {
	now := st.now()
	var drop []string
	st.mu.Lock()
	for id, ks := range st.known {
		keep := ks[:0]
		for _, k := range ks {
			if !k.retire.IsZero() && !now.Before(k.retire) {
				drop = append(drop, k.value)
			} else {
				keep = append(keep, k)
			}
		}
		clear(ks[len(keep):])
		st.known[id] = keep
	}
	st.due = time.Time{}
	st.scheduleLocked()
	r := st.recv
	st.mu.Unlock()
	if r != nil {
		for _, s := range drop {
			r.RemoveSecret(s)
		}
	}
}

func (st *hookState) scheduleLocked() {
	var next time.Time
	for _, ks := range st.known {
		for _, k := range ks {
			if !k.retire.IsZero() && (next.IsZero() || k.retire.Before(next)) {
				next = k.retire
			}
		}
	}
	if next.IsZero() || (!st.due.IsZero() && !next.Before(st.due)) {
		return
	}
	if st.sched.Schedule(&st.entry, st, next) {
		st.due = next
	}
}

// Integration seams. The Client does not keep its Receiver, and has no
// field for hookState, so until client.go gains them (see the report of
// issue 6) both live in a table keyed weakly by the Client: an entry goes
// away with its Client. Replace projectHooks with a field initialised in
// New, and recv with Config.Receiver.
var clientHooks struct {
	sync.Mutex
	m map[weak.Pointer[Client]]*hookState
}

func (c *Client) projectHooks() *hookState {
	k := weak.Make(c)
	clientHooks.Lock()
	defer clientHooks.Unlock()
	if st := clientHooks.m[k]; st != nil {
		return st
	}
	if clientHooks.m == nil {
		clientHooks.m = make(map[weak.Pointer[Client]]*hookState)
	}
	st := &hookState{sched: c.sched, now: c.now, log: c.log, known: make(map[string][]knownSecret)}
	clientHooks.m[k] = st
	runtime.AddCleanup(c, func(k weak.Pointer[Client]) {
		clientHooks.Lock()
		delete(clientHooks.m, k)
		clientHooks.Unlock()
	}, k)
	return st
}

// bindReceiver tells c which Receiver it was built with. Until New does
// this itself, only tests call it.
func (c *Client) bindReceiver(r *Receiver) {
	if r.routes.hub != c.hub {
		panic("gemhook: bindReceiver: the Client was not built with this Receiver")
	}
	st := c.projectHooks()
	st.mu.Lock()
	st.recv = r
	st.mu.Unlock()
}

// Errors from PingWebhook. A rejected ping wraps ErrPingRejected, the
// Receiver's own verification error (ErrNoMatchingSignature,
// ErrTimestampTooOld, ...), and ErrSignatureMismatch or ErrWrongSecret
// when the cause could be told.
var (
	// ErrPingNotDelivered: no ping reached the Receiver before the
	// context ended.
	ErrPingNotDelivered = errors.New("gemhook: webhook ping not delivered")
	// ErrPingRejected: the ping reached the Receiver and failed verification.
	ErrPingRejected = errors.New("gemhook: webhook ping rejected")
	// ErrSignatureMismatch: the ping was signed with a secret this Client
	// holds, yet its signature does not match the bytes that arrived:
	// something between Gemini and the Receiver changed the body or the
	// webhook-id and webhook-timestamp headers, typically a proxy or
	// framework that re-encodes JSON.
	ErrSignatureMismatch = errors.New("gemhook: signature does not match the delivered body")
	// ErrWrongSecret: the Receiver does not hold the secret the ping is
	// signed with.
	ErrWrongSecret = errors.New("gemhook: receiver lacks the webhook's signing secret")
)

// PingWebhook asks Gemini to ping webhook id and waits until the Client's
// Receiver has verified the ping: nil means the whole path works, from
// Gemini through any proxies to a signature check with a secret the
// Receiver holds. Otherwise it says what went wrong, within ctx's
// deadline: the ping was rejected (how, and why when that can be told), or
// it did not arrive at all (ErrPingNotDelivered, which also wraps ctx's
// error). Give ctx a deadline: Gemini retries a failed ping for hours.
func (c *Client) PingWebhook(ctx context.Context, id string) error {
	if c.isClosed() {
		return ErrClosed
	}
	if id == "" {
		return fmt.Errorf("gemhook: PingWebhook: empty webhook id")
	}
	st := c.projectHooks()
	st.sweep()
	w := watchersOf(c.hub).watch()
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
			case looksLikePing(o.body, id):
				return pingRejected(id, o, st.current(id), st.receiver())
			default:
				others, lastOther = others+1, o.err
			}
		case <-ctx.Done():
			err := fmt.Errorf("%w: webhook %s: no ping reached the receiver in time (%w); "+
				"check that the webhook's URI leads to this receiver and that nothing in between answers for it",
				ErrPingNotDelivered, id, ctx.Err())
			if others > 0 {
				err = fmt.Errorf("%w; meanwhile %d other deliveries were rejected, the last with: %w", err, others, lastOther)
			}
			if n := w.dropped.Load(); n > 0 {
				err = fmt.Errorf("%w; %d deliveries arrived too fast to inspect", err, n)
			}
			return err
		}
	}
}

// isPing: Gemini documents neither the ping's type nor its data; the
// emulator sends "webhook.ping" with the webhook's id as data.id.
func isPing(typ, resource, id string) bool {
	return typ == "ping" || strings.HasSuffix(typ, ".ping") || resource == id || strings.HasSuffix(resource, "/"+id)
}

// looksLikePing reads an unverified body only to attribute a rejection to
// the ping; nothing else is done with it.
func looksLikePing(body []byte, id string) bool {
	ev, err := decodeEvent(body)
	return err == nil && isPing(ev.Type, ev.Resource, id)
}

// pingRejected explains a rejected ping. With a secret this Client was
// issued it can tell a changed body (the secret does not verify the bytes
// that arrived either) from a Receiver that lacks the secret (it does).
func pingRejected(id string, o observation, secrets []string, r *Receiver) error {
	base := fmt.Errorf("%w: webhook %s: %w", ErrPingRejected, id, o.err)
	switch {
	case errors.Is(o.err, ErrTimestampTooOld), errors.Is(o.err, ErrTimestampTooNew):
		return fmt.Errorf("%w; the receiver's clock and Gemini's differ by more than the tolerance, or a proxy held the request", base)
	case errors.Is(o.err, ErrMissingHeader), errors.Is(o.err, ErrInvalidHeader), errors.Is(o.err, ErrInvalidTimestamp):
		return fmt.Errorf("%w; something between Gemini and the receiver dropped or rewrote the webhook-* headers", base)
	case errors.Is(o.err, ErrPayloadTooLarge):
		return fmt.Errorf("%w; raise ReceiverConfig.MaxBodyBytes", base)
	case !errors.Is(o.err, ErrNoMatchingSignature):
		return base
	}
	if len(secrets) > 0 {
		if signedWithAny(o.header, o.body, secrets) {
			return fmt.Errorf("%w: %w; the ping verifies with a secret this client was issued, so the receiver was built or changed without it", base, ErrWrongSecret)
		}
		return fmt.Errorf("%w: %w; the secret this client holds for the webhook does not verify the bytes that arrived, "+
			"so they were changed on the way: a proxy or framework re-encoding the JSON body, or rewriting webhook-id or webhook-timestamp", base, ErrSignatureMismatch)
	}
	if r != nil && len(r.secrets.Load().keys) == 0 {
		return fmt.Errorf("%w: %w; the receiver holds no project secret: add the webhook's secret to ReceiverConfig.Secrets", base, ErrWrongSecret)
	}
	return fmt.Errorf("%w; either the receiver's secrets do not include the webhook's (rotate it with RotateWebhookSecret "+
		"so this client knows it) or the body was changed on the way (a proxy re-encoding JSON)", base)
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
	return signature.NewV1Verifier(keys).Verify(entries, id, ts, body)
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
	hub  *hub.Hub // interim: the key in watching
	refs int      // interim: guarded by watching
	n    atomic.Int32
	mu   sync.Mutex
	set  map[*deliveryWatch]struct{}
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
	releaseWatchers(w.ws)
}

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

// observe shows one delivery to the watchers of r's deliveries. ServeHTTP
// should call it right after Verify (the seam of issue 6).
func (r *Receiver) observe(h http.Header, body []byte, ev *Event, err error) {
	if watching.n.Load() == 0 {
		return
	}
	watching.Lock()
	ws := watching.m[r.routes.hub]
	watching.Unlock()
	if ws != nil {
		ws.observe(h, body, ev, err)
	}
}

// watching holds the watchers per hub, which a Receiver and its Clients
// share, while any watch is open. With a watchers field on Receiver (and
// the Client keeping its Receiver) this table goes away.
var watching struct {
	sync.Mutex
	n atomic.Int32 // open watches, all hubs
	m map[*hub.Hub]*watchers
}

func watchersOf(h *hub.Hub) *watchers {
	watching.Lock()
	defer watching.Unlock()
	ws := watching.m[h]
	if ws == nil {
		if watching.m == nil {
			watching.m = make(map[*hub.Hub]*watchers)
		}
		ws = &watchers{hub: h}
		watching.m[h] = ws
	}
	ws.refs++
	watching.n.Add(1)
	return ws
}

func releaseWatchers(ws *watchers) {
	watching.Lock()
	defer watching.Unlock()
	watching.n.Add(-1)
	if ws.refs--; ws.refs == 0 {
		delete(watching.m, ws.hub)
	}
}
