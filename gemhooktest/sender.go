package gemhooktest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"
)

// message is one event on its way to one URL. Retries reuse it: the same
// webhook-id and body, a fresh timestamp and signature.
type message struct {
	ev    *event
	url   string
	hook  string // project webhook id; "" for a per-request URI
	copy  int
	early bool
	sent  chan struct{} // closed after the first attempt, when someone waits for it
}

// attempt is one try at delivering a message.
type attempt struct {
	m     *message
	n     int       // 1 for the first try
	first time.Time // real time of the first try; the retry horizon counts from it
}

type emitOptions struct {
	early  bool // deliver at once; the caller waits for the first attempts
	noDrop bool
}

// emitLocked routes ev to its targets and queues the deliveries, applying
// the faults. With early set it returns channels that close once each first
// attempt has been made.
func (s *Server) emitLocked(ev *event, o emitOptions) []chan struct{} {
	type target struct{ url, hook string }
	var targets []target
	switch {
	case ev.ping != "":
		if h := s.hooks[ev.ping]; h != nil {
			targets = append(targets, target{h.uri, h.id})
		}
	case len(ev.uris) > 0:
		for _, u := range ev.uris {
			targets = append(targets, target{url: u})
		}
	default:
		for _, h := range s.sortedHooksLocked() {
			if h.state == stateEnabled && h.subscribed(ev.typ) {
				targets = append(targets, target{h.uri, h.id})
			}
		}
	}
	f := s.opts.Faults
	isJob := ev.ping == ""
	if isJob && !o.noDrop && f.DropRate > 0 && s.rng.Float64() < f.DropRate {
		for _, t := range targets {
			s.recordLater(Delivery{MessageID: ev.id, Type: ev.typ, Resource: ev.resource, URL: t.url,
				WebhookID: t.hook, Scheme: s.scheme(t.hook), Result: Dropped, Err: "Faults.DropRate", Start: s.now()})
		}
		return nil
	}
	copies := 1
	if isJob {
		copies += f.Duplicates
	}
	var waits []chan struct{}
	now := time.Now()
	for _, t := range targets {
		for c := range copies {
			m := &message{ev: ev, url: t.url, hook: t.hook, copy: c, early: o.early}
			due, tie := now, uint64(0)
			if o.early {
				m.sent = make(chan struct{})
				waits = append(waits, m.sent)
			} else if isJob {
				if f.MaxDelay > 0 {
					due = due.Add(time.Duration(s.rng.Int64N(int64(f.MaxDelay) + 1)))
				}
				if f.Reorder {
					w := f.ReorderWindow
					due = due.Truncate(w).Add(w)
					tie = s.rng.Uint64() | 1 // never 0, which means "in order"
				}
			}
			if !s.sched.attempt(due, tie, &attempt{m: m, n: 1}) {
				s.recordLater(Delivery{MessageID: ev.id, Type: ev.typ, Resource: ev.resource, URL: t.url,
					WebhookID: t.hook, Scheme: s.scheme(t.hook), Copy: c, Result: Dropped,
					Err: "delivery queue full (Options.MaxPending)", Start: s.now()})
				if m.sent != nil {
					close(m.sent)
				}
			}
		}
	}
	return waits
}

func (s *Server) scheme(hook string) string {
	switch {
	case hook != "":
		return "v1"
	case s.opts.JWS:
		return "jws"
	}
	return "v1a"
}

// recordLater records d from the scheduler goroutine, for callers that
// hold s.mu: OnDelivery must never run under the server's lock.
func (s *Server) recordLater(d Delivery) {
	s.sched.at(time.Now(), func() { s.record(d) })
}

func (s *Server) record(d Delivery) {
	d = s.log.add(d)
	if s.opts.OnDelivery != nil {
		s.opts.OnDelivery(d)
	}
}

// deliver makes one attempt. It runs on a scheduler worker.
func (s *Server) deliver(a *attempt) {
	m := a.m
	if a.n == 1 {
		a.first = time.Now()
		if m.sent != nil {
			defer close(m.sent)
		}
	}
	d := Delivery{MessageID: m.ev.id, Type: m.ev.typ, Resource: m.ev.resource, URL: m.url,
		WebhookID: m.hook, Scheme: s.scheme(m.hook), Copy: m.copy, Attempt: a.n, Early: m.early}

	// Project webhooks are signed with the secrets they hold now, so a
	// retry after a rotation carries the new secret.
	var secrets []string
	s.mu.Lock()
	if m.hook != "" {
		h := s.hooks[m.hook]
		switch {
		case h == nil:
			d.Err = "webhook deleted"
		case h.state != stateEnabled && m.ev.ping == "":
			d.Err = "webhook " + h.state
		default:
			secrets = h.liveSecrets(s.now())
		}
	}
	edKey := 0
	if m.hook == "" && !s.opts.JWS {
		edKey = s.sendRNG.IntN(len(s.keys.ed))
	}
	closed := s.closed
	s.mu.Unlock()
	if closed {
		d.Err = "server closed"
	}
	if d.Err != "" {
		d.Result, d.Start = Abandoned, s.now()
		s.record(d)
		return
	}

	d.Start = s.now()
	var hdr http.Header
	var err error
	if m.hook != "" {
		hdr, err = SignV1(m.ev.id, d.Start, m.ev.body, secrets...)
	} else {
		hdr, err = s.signPerRequest(edKey, m.ev.id, d.Start, m.ev.body)
	}
	if err != nil {
		d.Err, d.Result = "signing: "+err.Error(), GaveUp
		s.record(d)
		return
	}
	began := time.Now()
	d.Status, d.Err = s.post(m, hdr)
	d.Duration = time.Since(began)

	switch {
	case d.Status >= 200 && d.Status < 300:
		d.Result = Delivered
		s.settleHook(m.hook, true)
	case s.ctx.Err() != nil:
		d.Result = Abandoned
		if d.Err == "" {
			d.Err = "server closed"
		}
	default:
		next := s.backoff(a.n)
		if time.Since(a.first)+next <= s.opts.RetryHorizon &&
			s.sched.attempt(time.Now().Add(next), 0, &attempt{m: m, n: a.n + 1, first: a.first}) {
			d.Result = Retrying
		} else {
			d.Result = GaveUp
			s.settleHook(m.hook, false)
		}
	}
	s.record(d)
}

// post sends one attempt and reports the status, or why there is none.
func (s *Server) post(m *message, hdr http.Header) (int, string) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url, bytes.NewReader(m.ev.body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header = hdr
	req.Header.Set("User-Agent", "gemhooktest")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	// Drain a little so the connection can be reused; never read an
	// unbounded answer.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, ""
}

// backoff is the delay after attempt n failed: RetryBackoff doubling each
// time, capped at a tenth of the horizon, then jittered down by up to half.
func (s *Server) backoff(n int) time.Duration {
	d := s.opts.RetryBackoff
	limit := max(s.opts.RetryHorizon/10, s.opts.RetryBackoff)
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	s.mu.Lock()
	j := s.sendRNG.Float64()
	s.mu.Unlock()
	return d/2 + time.Duration(j*float64(d/2))
}

// settleHook counts deliveries to a project webhook that ended in failure,
// and disables the webhook after DisableAfter of them in a row.
func (s *Server) settleHook(id string, ok bool) {
	if id == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hooks[id]
	if h == nil {
		return
	}
	if ok {
		h.failures = 0
		return
	}
	h.failures++
	if s.opts.DisableAfter > 0 && h.failures >= s.opts.DisableAfter && h.state == stateEnabled {
		h.state = stateFailing
		h.updated = s.now()
	}
}
