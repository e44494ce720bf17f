package gemhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
)

// retryAfter is the Retry-After of every 503, in seconds: long enough for a
// key set refresh or a restart, short next to a sender's backoff.
const retryAfter = 5

// ServeHTTP verifies a delivery, drops duplicates, and dispatches it:
//
//	2xx  accepted, including duplicates, unknown event types, and events
//	     for jobs nobody here waits for
//	400  malformed headers, or a verified body that is not a JSON object
//	401  signature or timestamp check failed
//	405  not POST; 408 body stalled past the server's ReadTimeout;
//	413  body over MaxBodyBytes; 415 a media type other
//	     than application/json (none at all is accepted), or compressed
//	500  dispatch panicked (a bug; logged with its stack)
//	503  keys unavailable, the event could not be taken now, or the
//	     Receiver is closed (with Retry-After)
//
// It never answers 3xx or 410, which would make a sender give up on the
// endpoint. Error bodies are generic; what failed is logged (rejections at
// Warn, rate-limited). Each delivery is a server span ("POST", after the
// HTTP semantic conventions) linked to its job's submission, and is counted
// in gemhook.webhook.deliveries.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx, span := r.tel.tracer.Start(req.Context(), spanName(req.Method), serverSpan...)
	if !span.IsRecording() && !r.tel.deliveries.Enabled(ctx) {
		r.serve(w, req)
		span.End()
		return
	}
	d := &exchange{ResponseWriter: w, span: span}
	ctx = context.WithValue(ctx, exchangeKey{}, d)
	r.serve(d, req.WithContext(ctx))
	r.delivered(ctx, span, d, req)
}

// serve is ServeHTTP without its span and metric.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.closed.Load() {
		unavailable(w)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !jsonContent(req.Header) {
		http.Error(w, "unsupported media type", http.StatusUnsupportedMediaType)
		return
	}
	if req.ContentLength > r.maxBody {
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := readBody(w, req, r.maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		if timedOut(err) {
			// Stalled past ReadTimeout: say so, and the sender retries.
			http.Error(w, "request timeout", http.StatusRequestTimeout)
			return
		}
		// The sender went away: nobody to answer, but close the
		// exchange cleanly.
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ev, err := r.Verify(req.Context(), req.Header, body)
	r.watch.observe(req.Header, body, ev, err)
	r.verified(req.Context(), ev, err, req.URL.Path)
	if err != nil {
		fail(w, err)
		return
	}
	ev.Endpoint = req.URL.Path
	if err := r.accept(req.Context(), ev); err != nil {
		r.notAccepted(req.Context(), err, ev, req.URL.Path)
		if errors.Is(err, errDispatchPanic) {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		unavailable(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// errDispatchPanic answers 500: a bug here, which a retry may or may not
// avoid.
var errDispatchPanic = errors.New("gemhook: dispatch panicked")

// accept dispatches a verified event once per delivery (Event.DedupeKey:
// the webhook-id for v1 and v1a, the token itself for a JWS, whose unsigned
// webhook-id must not steer anything). The first of several identical
// deliveries dispatches; the others wait for its outcome and share it. Only
// a successful dispatch is remembered, so the retry of a failed one is
// dispatched afresh. OnEvent runs after a successful dispatch of an event
// that the Store had not seen.
func (r *Receiver) accept(ctx context.Context, ev *Event) (err error) {
	key := ev.DedupeKey()
	call, first := r.seen.Claim(key)
	if !first {
		if err = call.Wait(ctx); err == nil {
			duplicate(ctx)
		}
		return err
	}
	finished := false
	defer func() {
		if finished {
			return
		}
		// dispatch panicked: release the claim so that identical
		// deliveries waiting on it, and later retries, are not stuck.
		p := recover()
		err = fmt.Errorf("%w: %v", errDispatchPanic, p)
		r.seen.Finish(key, call, err)
		r.log.LogAttrs(ctx, slog.LevelError, "webhook dispatch panicked", attrErr(err), attrID(ev.ID),
			attrStack(debug.Stack()))
	}()
	err = r.dispatch(ctx, ev, key)
	dup := errors.Is(err, errDuplicate)
	if dup {
		err = nil
		duplicate(ctx)
	}
	r.seen.Finish(key, call, err)
	finished = true
	if err != nil || dup {
		return err
	}
	r.notify(ctx, ev)
	return nil
}

// notify runs OnEvent. A panic in it is the user's bug, not the sender's:
// it is logged and the delivery is still acknowledged, since dispatch has
// already taken the event.
func (r *Receiver) notify(ctx context.Context, ev *Event) {
	if r.onEvent == nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.LogAttrs(ctx, slog.LevelError, "OnEvent panicked", slog.Any("panic", p), attrID(ev.ID),
				attrStack(debug.Stack()))
		}
	}()
	r.onEvent(ctx, ev)
}

// bodyChunk is the most readBody allocates before bytes arrive: a declared
// Content-Length is a claim, not bytes, and sizing the buffer from it would
// let unauthenticated connections that declare a large body and send
// nothing hold MaxBodyBytes each.
const bodyChunk = 4 << 10

// readBody reads the whole body under the cap. The buffer starts at
// bodyChunk (or the declared length, if smaller) and doubles as bytes
// arrive, never past the declared length while the sender keeps to it.
func readBody(w http.ResponseWriter, req *http.Request, limit int64) ([]byte, error) {
	rd := http.MaxBytesReader(w, req.Body, limit)
	declared := req.ContentLength
	size := int64(bodyChunk)
	if declared >= 0 && declared < size {
		size = declared + 1 // room for the read that sees EOF
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			more := len(buf)
			if rest := declared + 1 - int64(len(buf)); rest > 0 && rest < int64(more) {
				more = int(rest)
			}
			buf = slices.Grow(buf, more)
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// timedOut reports whether a body read failed on the connection's read
// deadline (the server's ReadTimeout).
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// jsonContent accepts application/json with any parameters, and a body
// with no Content-Type at all: Google does not document the header, and
// refusing unlabelled deliveries would refuse every one of them for a day
// (the body must still verify and decode as a JSON object). It refuses any
// other media type and any content coding: decompressing attacker-sized
// input before authentication is not something a receiver should do.
func jsonContent(h http.Header) bool {
	if ce := h.Values("Content-Encoding"); len(ce) > 0 && !(len(ce) == 1 && strings.EqualFold(ce[0], "identity")) {
		return false
	}
	cts := h.Values("Content-Type")
	if len(cts) == 0 {
		return true
	}
	ct := cts[0]
	if ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// fail answers a rejected delivery with a generic body: which check failed
// is logged, never told to the sender.
func fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrKeysUnavailable):
		unavailable(w)
	case errors.Is(err, ErrPayloadTooLarge):
		http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
	case errors.Is(err, errNoSignature):
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	case errors.Is(err, ErrMissingHeader), errors.Is(err, ErrInvalidHeader),
		errors.Is(err, ErrInvalidTimestamp), errors.Is(err, ErrMalformedEvent):
		http.Error(w, "bad request", http.StatusBadRequest)
	default:
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}
}

func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	http.Error(w, "unavailable", http.StatusServiceUnavailable)
}
