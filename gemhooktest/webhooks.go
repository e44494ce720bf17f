package gemhooktest

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gemhook/gemhook/internal/eventtype"
)

// Webhook states, as Gemini names them.
const (
	stateEnabled  = "enabled"
	stateDisabled = "disabled"
	stateFailing  = "disabled_due_to_failed_deliveries"
)

// maxWebhooks bounds the project webhooks one Server holds.
const maxWebhooks = 1000

// rotationGrace is how long revoke_previous_secrets_after_h24 keeps the
// previous secrets valid.
const rotationGrace = 24 * time.Hour

// maxSecrets bounds the live secrets of one webhook; rotating more often
// than that within the grace period drops the oldest.
const maxSecrets = 8

// Events returns the event types a webhook can subscribe to, by family: the
// seven of Gemini's API enum and the two cancellations its guide lists.
func Events() []string { return eventtype.Names(nil) }

// inEnum keeps the types of Gemini's API enum, dropping the cancellations.
func inEnum(t eventtype.Type) bool { return t.Subscribable }

// webhook is one project-level webhook. Guarded by Server.mu.
type webhook struct {
	id       string
	seq      uint64
	name     string
	uri      string
	events   []string
	state    string
	created  time.Time
	updated  time.Time
	secrets  []secret // newest first
	failures int      // deliveries in a row that exhausted their retries
}

type secret struct {
	text    string
	expires time.Time // zero: never
}

func (h *webhook) subscribed(typ string) bool { return slices.Contains(h.events, typ) }

// liveSecrets drops expired secrets and returns the others, newest first.
func (h *webhook) liveSecrets(now time.Time) []string {
	h.prune(now)
	out := make([]string, len(h.secrets))
	for i, sc := range h.secrets {
		out[i] = sc.text
	}
	return out
}

func (h *webhook) prune(now time.Time) {
	h.secrets = slices.DeleteFunc(h.secrets, func(sc secret) bool {
		return !sc.expires.IsZero() && !now.Before(sc.expires)
	})
}

// webhookJSON is the Webhook resource on the wire (snake_case).
type webhookJSON struct {
	ID               string       `json:"id"`
	Name             string       `json:"name,omitempty"`
	URI              string       `json:"uri"`
	SubscribedEvents []string     `json:"subscribed_events"`
	State            string       `json:"state"`
	CreateTime       string       `json:"create_time"`
	UpdateTime       string       `json:"update_time"`
	NewSigningSecret string       `json:"new_signing_secret,omitempty"`
	SigningSecrets   []secretJSON `json:"signing_secrets"`
}

type secretJSON struct {
	ExpireTime      string `json:"expire_time,omitempty"`
	TruncatedSecret string `json:"truncated_secret"`
}

func (s *Server) webhookJSON(h *webhook) *webhookJSON {
	h.prune(s.now())
	out := &webhookJSON{
		ID: h.id, Name: h.name, URI: h.uri, SubscribedEvents: slices.Clone(h.events),
		State: h.state, CreateTime: timestamp(h.created), UpdateTime: timestamp(h.updated),
		SigningSecrets: make([]secretJSON, 0, len(h.secrets)),
	}
	for _, sc := range h.secrets {
		sj := secretJSON{TruncatedSecret: "whsec_..." + sc.text[len(sc.text)-4:]}
		if !sc.expires.IsZero() {
			sj.ExpireTime = timestamp(sc.expires)
		}
		out.SigningSecrets = append(out.SigningSecrets, sj)
	}
	return out
}

// webhookInput is the create and update body. Pointers tell absent fields
// from empty ones, which update_mask needs.
type webhookInput struct {
	Name             *string   `json:"name"`
	URI              *string   `json:"uri"`
	SubscribedEvents *[]string `json:"subscribed_events"`
	State            *string   `json:"state"`
}

// CheckWebhookURI reports why RegisterWebhook, and the API's webhook
// create and update, would refuse uri, or nil if they accept it: it must be
// an absolute http or https URL.
func CheckWebhookURI(uri string) error {
	p, err := url.Parse(uri)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("want an absolute http or https URL, got %q", uri)
	}
	return nil
}

func checkHookURI(u string) error {
	if CheckWebhookURI(u) != nil {
		return invalidArgument("uri must be an absolute http or https URL, got %q", u)
	}
	return nil
}

func (s *Server) checkEvents(evs []string) error {
	if len(evs) == 0 {
		return invalidArgument("subscribed_events is required")
	}
	for i, e := range evs {
		t, ok := eventtype.Lookup(e)
		if !ok {
			return invalidArgument("subscribed_events: unknown event type %q", e)
		}
		// Worded as Google's JSON transcoding refuses a value its enum lacks.
		if s.opts.RefuseCancelSubscriptions && !inEnum(t) {
			return invalidArgument("Invalid value at 'subscribed_events[%d]' (type.googleapis.com/google.ai.generativelanguage.v1beta.Webhook.SubscribedEvent), %q", i, e)
		}
	}
	return nil
}

// addHookLocked stores a new webhook and returns it with its first secret.
func (s *Server) addHookLocked(name, uri string, events []string) (*webhook, string, error) {
	if len(s.hooks) >= maxWebhooks {
		return nil, "", exhausted("gemhooktest: at most %d webhooks", maxWebhooks)
	}
	text := newSecret()
	now := s.now()
	s.hookSeq++
	h := &webhook{
		id: randomID(36), seq: s.hookSeq, name: name, uri: uri, events: slices.Clone(events),
		state: stateEnabled, created: now, updated: now,
		secrets: []secret{{text: text}},
	}
	s.hooks[h.id] = h
	return h, text, nil
}

func (s *Server) sortedHooksLocked() []*webhook {
	out := make([]*webhook, 0, len(s.hooks))
	for _, h := range s.hooks {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b *webhook) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// RegisterWebhook creates a project webhook, as genai's Webhooks.Create
// does, and returns its signing secret. With no events it subscribes to
// every type Events returns (less the cancellations under
// Options.RefuseCancelSubscriptions). It panics on a URI that is not an
// absolute http(s) URL or an event type the Server refuses: those are
// mistakes in the test.
func (s *Server) RegisterWebhook(uri string, events ...string) (secret string) {
	if len(events) == 0 {
		events = Events()
		if s.opts.RefuseCancelSubscriptions {
			events = eventtype.Names(inEnum)
		}
	}
	if err := checkHookURI(uri); err != nil {
		panic("gemhooktest: RegisterWebhook: " + err.Error())
	}
	if err := s.checkEvents(events); err != nil {
		panic("gemhooktest: RegisterWebhook: " + err.Error())
	}
	s.mu.Lock()
	h, text, err := s.addHookLocked("", uri, events)
	s.mu.Unlock()
	if err != nil {
		panic("gemhooktest: RegisterWebhook: " + err.Error())
	}
	s.issued(h.id, uri, text)
	return text
}

func (s *Server) issued(id, uri, secret string) {
	if s.opts.OnSecret != nil {
		s.opts.OnSecret(id, uri, secret)
	}
}

// WebhookInfo describes a project webhook, for tests.
type WebhookInfo struct {
	ID      string
	URI     string
	Events  []string
	State   string // "enabled", "disabled" or "disabled_due_to_failed_deliveries"
	Secrets int    // unexpired signing secrets
}

// Webhooks describes the project webhooks, oldest first.
func (s *Server) Webhooks() []WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []WebhookInfo
	for _, h := range s.sortedHooksLocked() {
		h.prune(s.now())
		out = append(out, WebhookInfo{ID: h.id, URI: h.uri, Events: slices.Clone(h.events), State: h.state, Secrets: len(h.secrets)})
	}
	return out
}

// Ping sends a ping event to the webhook with this id, as the API's :ping
// does.
func (s *Server) Ping(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	h := s.hooks[id]
	if h == nil {
		return fmt.Errorf("%w: %q", ErrUnknownWebhook, id)
	}
	ev := s.newEvent(PingType, h.id, s.now(), eventData{ID: h.id}, nil, nil)
	ev.ping = h.id
	s.emitLocked(ev, emitOptions{})
	return nil
}

// API handlers.

func (s *Server) createWebhook(r *http.Request, _ string) (any, error) {
	var in webhookInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	if in.URI == nil || *in.URI == "" {
		return nil, invalidArgument("uri is required")
	}
	if err := checkHookURI(*in.URI); err != nil {
		return nil, err
	}
	var evs []string
	if in.SubscribedEvents != nil {
		evs = *in.SubscribedEvents
	}
	if err := s.checkEvents(evs); err != nil {
		return nil, err
	}
	name := ""
	if in.Name != nil {
		name = *in.Name
	}
	s.mu.Lock()
	h, text, err := s.addHookLocked(name, *in.URI, evs)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	out := s.webhookJSON(h)
	s.mu.Unlock()
	out.NewSigningSecret = text
	s.issued(out.ID, out.URI, text)
	return out, nil
}

func (s *Server) hookLocked(id string) (*webhook, error) {
	h := s.hooks[id]
	if h == nil {
		return nil, notFound("Webhook %q not found.", id)
	}
	return h, nil
}

func (s *Server) getWebhook(_ *http.Request, id string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.hookLocked(id)
	if err != nil {
		return nil, err
	}
	return s.webhookJSON(h), nil
}

func (s *Server) listWebhooks(r *http.Request, _ string) (any, error) {
	size, after, err := pageArgs(r.URL.Query(), "page_size", "page_token")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		Webhooks      []*webhookJSON `json:"webhooks"`
		NextPageToken string         `json:"next_page_token,omitempty"`
	}{Webhooks: []*webhookJSON{}}
	var last uint64
	for _, h := range s.sortedHooksLocked() {
		if h.seq <= after {
			continue
		}
		if len(out.Webhooks) == size {
			out.NextPageToken = pageToken(last)
			break
		}
		out.Webhooks = append(out.Webhooks, s.webhookJSON(h))
		last = h.seq
	}
	return out, nil
}

func (s *Server) updateWebhook(r *http.Request, id string) (any, error) {
	var in webhookInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	fields, err := updateFields(r.URL.Query().Get("update_mask"), in)
	if err != nil {
		return nil, err
	}
	// Check everything before changing anything.
	for _, f := range fields {
		switch f {
		case "uri":
			if in.URI == nil {
				return nil, invalidArgument("update_mask names uri, but the body has none")
			}
			if err := checkHookURI(*in.URI); err != nil {
				return nil, err
			}
		case "subscribed_events":
			if in.SubscribedEvents == nil {
				return nil, invalidArgument("update_mask names subscribed_events, but the body has none")
			}
			if err := s.checkEvents(*in.SubscribedEvents); err != nil {
				return nil, err
			}
		case "state":
			if in.State == nil {
				return nil, invalidArgument("update_mask names state, but the body has none")
			}
			st := strings.ToLower(*in.State)
			if st != stateEnabled && st != stateDisabled {
				return nil, invalidArgument("state must be enabled or disabled, got %q", *in.State)
			}
			*in.State = st
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, err := s.hookLocked(id)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		switch f {
		case "name":
			h.name = ""
			if in.Name != nil {
				h.name = *in.Name
			}
		case "uri":
			h.uri = *in.URI
		case "subscribed_events":
			h.events = slices.Clone(*in.SubscribedEvents)
		case "state":
			h.state = *in.State
			h.failures = 0
		}
	}
	h.updated = s.now()
	return s.webhookJSON(h), nil
}

// updateFields returns the fields an update changes: those update_mask
// names, or without a mask those the body carries. Unknown names are
// refused, as Google's APIs refuse them.
func updateFields(mask string, in webhookInput) ([]string, error) {
	if mask == "" {
		var out []string
		if in.Name != nil {
			out = append(out, "name")
		}
		if in.URI != nil {
			out = append(out, "uri")
		}
		if in.SubscribedEvents != nil {
			out = append(out, "subscribed_events")
		}
		if in.State != nil {
			out = append(out, "state")
		}
		if len(out) == 0 {
			return nil, invalidArgument("the update changes nothing: give update_mask and the fields")
		}
		return out, nil
	}
	var out []string
	for f := range strings.SplitSeq(mask, ",") {
		f = strings.TrimSpace(f)
		if f == "subscribedEvents" {
			f = "subscribed_events"
		}
		switch f {
		case "name", "uri", "subscribed_events", "state":
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		default:
			return nil, invalidArgument("update_mask: unknown or immutable field %q", f)
		}
	}
	return out, nil
}

func (s *Server) deleteWebhook(_ *http.Request, id string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.hookLocked(id); err != nil {
		return nil, err
	}
	delete(s.hooks, id)
	return struct{}{}, nil
}

func (s *Server) pingWebhook(r *http.Request, id string) (any, error) {
	var body struct{}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	s.mu.Lock()
	_, err := s.hookLocked(id)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := s.Ping(id); err != nil {
		return nil, &apiError{Code: http.StatusServiceUnavailable, Message: err.Error(), Status: "UNAVAILABLE"}
	}
	return struct{}{}, nil
}

// rotateWebhook adds a new secret. The previous ones stay valid for 24 hours
// (revoke_previous_secrets_after_h24, the default) or are dropped
// (revoke_previous_secrets_immediately). The enum is accepted in either
// case: the guide's samples send it upper case, the SDKs lower case.
func (s *Server) rotateWebhook(r *http.Request, id string) (any, error) {
	var in struct {
		RevocationBehavior string `json:"revocation_behavior"`
	}
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	immediately := false
	switch strings.ToLower(in.RevocationBehavior) {
	case "", "revoke_previous_secrets_after_h24", "revocation_behavior_unspecified":
	case "revoke_previous_secrets_immediately":
		immediately = true
	default:
		return nil, invalidArgument("revocation_behavior: unknown value %q", in.RevocationBehavior)
	}
	s.mu.Lock()
	h, err := s.hookLocked(id)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	now := s.now()
	h.prune(now)
	if immediately {
		h.secrets = h.secrets[:0]
	} else {
		for i := range h.secrets {
			if exp := now.Add(rotationGrace); h.secrets[i].expires.IsZero() || h.secrets[i].expires.After(exp) {
				h.secrets[i].expires = exp
			}
		}
	}
	text := newSecret()
	h.secrets = append([]secret{{text: text}}, h.secrets...)
	// Bounded: a receiver checks at most signature.MaxEntries entries anyway.
	h.secrets = h.secrets[:min(len(h.secrets), maxSecrets)]
	h.updated = now
	uri := h.uri
	s.mu.Unlock()
	s.issued(id, uri, text)
	return struct {
		Secret string `json:"secret"`
	}{text}, nil
}
