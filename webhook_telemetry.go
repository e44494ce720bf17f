package gemhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// serverSpan are the start options of a delivery's span, built once so
// that an untraced delivery allocates no more for them.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// exchange follows one request through ServeHTTP, for its span and metric.
type exchange struct {
	http.ResponseWriter
	span   trace.Span
	status int
	ev     *Event // set once verified
	err    error  // why it was refused, when it was
	dup    bool
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	d, _ := ctx.Value(exchangeKey{}).(*exchange)
	return d
}

func (d *exchange) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *exchange) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return d.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (d *exchange) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// verified notes the outcome of Verify for the delivery's span, and logs
// a rejection.
func (r *Receiver) verified(ctx context.Context, ev *Event, err error, path string) {
	if d := exchangeFrom(ctx); d != nil {
		d.ev, d.err = ev, err
		if ev != nil && d.span.IsRecording() {
			if key, _, ok := eventKey(ev); ok {
				r.linkSubmission(ctx, d.span, key)
			}
		}
	}
	if err != nil {
		r.rejected(ctx, err, path)
	}
}

// duplicate notes that the delivery was one seen before.
func duplicate(ctx context.Context) {
	if d := exchangeFrom(ctx); d != nil {
		d.dup = true
	}
}

// delivered ends the delivery's span and counts it.
func (r *Receiver) delivered(ctx context.Context, span trace.Span, d *exchange, req *http.Request) {
	status := d.status
	if status == 0 {
		status = http.StatusOK
	}
	result, reason := resultAccepted, ""
	switch {
	case status < 300 && d.dup:
		result = resultDuplicate
	case status < 300:
	case status == http.StatusServiceUnavailable:
		result, reason = resultUnavailable, "unavailable"
		if d.err != nil {
			reason = rejectClass(d.err)
		}
	default:
		result, reason = resultRejected, statusClass(status)
		if d.err != nil {
			reason = rejectClass(d.err)
		}
	}
	scheme := "none"
	if d.ev != nil {
		scheme = d.ev.Scheme
	}
	attrs := []attribute.KeyValue{attrScheme.String(scheme), attrResult.String(result)}
	if reason != "" {
		attrs = append(attrs, attrErrorType.String(reason))
	}
	r.tel.deliveries.Add(ctx, 1, metric.WithAttributes(attrs...))
	if !span.IsRecording() {
		span.End()
		return
	}
	attrs = append(attrs,
		semconv.HTTPRequestMethodKey.String(method(req.Method)),
		semconv.HTTPResponseStatusCodeKey.Int(status),
		semconv.URLPathKey.String(clip(req.URL.Path)),
		semconv.URLSchemeKey.String(urlScheme(req)),
		semconv.NetworkProtocolVersionKey.String(strings.TrimPrefix(req.Proto, "HTTP/")))
	if status >= 500 {
		if reason == "" {
			attrs = append(attrs, attrErrorType.String(strconv.Itoa(status)))
		}
		span.SetStatus(codes.Error, "")
	}
	if ev := d.ev; ev != nil {
		if key, _, ok := eventKey(ev); ok {
			attrs = append(attrs, attrJobName.String(ev.Resource), attrJobKind.String(string(kindOfKey(key))),
				attrEventType.String(ev.Type))
		}
	}
	span.SetAttributes(attrs...)
	span.End()
}

// linkSubmission links a delivery's span to the span of its job's
// submission, which the Store keeps with the job. It runs only for spans
// that are recorded, before dispatch (which may settle the job and drop it
// from the pending ones): a sampled delivery costs one more Store read.
func (r *Receiver) linkSubmission(ctx context.Context, span trace.Span, key string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	rec, err := r.store.Lookup(sctx, key)
	cancel()
	if err != nil {
		r.tel.storeError(ctx)
		return
	}
	if rec.Job != nil {
		if sc := parentOf(rec.Job.Trace); sc.IsValid() {
			span.AddLink(trace.Link{SpanContext: sc})
		}
	}
}

// method is the request's method as the HTTP conventions record it: a
// known one, or "_OTHER", so that senders cannot mint attribute values.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// spanName is the HTTP conventions' name of a server span with no route.
func spanName(m string) string {
	if m = method(m); m == "_OTHER" {
		return "HTTP"
	}
	return m
}

func urlScheme(req *http.Request) string {
	if req.TLS != nil {
		return "https"
	}
	return "http"
}

// kindOfKey is the JobKind of a routing key.
func kindOfKey(key string) JobKind {
	switch {
	case strings.HasPrefix(key, "batches/"):
		return KindBatch
	case strings.HasPrefix(key, "operations/"):
		return KindVideos
	}
	return KindInteraction
}

// rejectClass names the errors.Is class of a refused delivery: what logs
// and metrics say instead of the error's text, which may quote the
// sender's input.
func rejectClass(err error) string {
	switch {
	case errors.Is(err, ErrPayloadTooLarge):
		return "payload_too_large"
	case errors.Is(err, ErrMissingHeader):
		return "missing_header"
	case errors.Is(err, ErrInvalidHeader):
		return "invalid_header"
	case errors.Is(err, ErrInvalidTimestamp):
		return "invalid_timestamp"
	case errors.Is(err, ErrTimestampTooOld):
		return "timestamp_too_old"
	case errors.Is(err, ErrTimestampTooNew):
		return "timestamp_too_new"
	case errors.Is(err, ErrKeysUnavailable):
		return "keys_unavailable"
	case errors.Is(err, ErrNoMatchingSignature):
		return "no_matching_signature"
	case errors.Is(err, ErrMalformedEvent):
		return "malformed_event"
	case errors.Is(err, errStore):
		return "store_unavailable"
	case errors.Is(err, errDispatchPanic):
		return "dispatch_panic"
	}
	return "other"
}

// statusClass names a refusal that came before Verify.
func statusClass(status int) string {
	switch status {
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusRequestEntityTooLarge:
		return "payload_too_large"
	}
	return strconv.Itoa(status)
}

// clip bounds a sender-chosen string kept in a log record or a span.
func clip(s string) string {
	const max = 128
	if len(s) > max {
		return s[:max]
	}
	return s
}

// Rejections, and verified deliveries that could not be taken, are logged
// through a token bucket on the Receiver's clock: a burst of rejectBurst
// records, then one per rejectEvery, each saying how many were left out
// since the last one and why. A flood of forgeries, or of retries while
// the Store is down, costs a few records a minute, whatever its rate.
const (
	rejectBurst = 5
	rejectEvery = 10 * time.Second
)

// rejectLog counts rejections and rate-limits their log records.
type rejectLog struct {
	total atomic.Uint64 // every rejection since the Receiver started

	mu     sync.Mutex
	tokens float64
	last   time.Time
	left   map[string]uint64 // left out since the last record, by class
	leftN  uint64
	class  string // of the last rejection
}

// lastClass is the class of the latest rejection.
func (l *rejectLog) lastClass() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.class
}

// rejected counts a refused delivery and logs it at Warn unless the bucket
// is empty. The record names the class and the path, never the headers or
// the body.
func (r *Receiver) rejected(ctx context.Context, err error, path string) {
	class := rejectClass(err)
	r.rejects.total.Add(1)
	r.rejects.mu.Lock()
	r.rejects.class = class
	r.rejects.mu.Unlock()
	r.warnLimited(ctx, "webhook delivery rejected", class, slog.String("path", clip(path)))
}

// notAccepted logs, through the same bucket, a verified delivery that
// could not be taken now (the Store failed, dispatch panicked). It is not
// a rejection: the sender was right, and its retry will be taken.
func (r *Receiver) notAccepted(ctx context.Context, err error, ev *Event, path string) {
	r.warnLimited(ctx, "webhook not accepted now", rejectClass(err), attrErr(err), attrID(ev.ID), attrPath(path))
}

// warnLimited logs msg at Warn with reason class and attrs, or, when the
// bucket is empty, counts it as left out.
func (r *Receiver) warnLimited(ctx context.Context, msg, class string, attrs ...slog.Attr) {
	l := &r.rejects
	now := r.now()
	l.mu.Lock()
	if l.last.IsZero() {
		l.tokens = rejectBurst
	} else if d := now.Sub(l.last); d > 0 {
		l.tokens = min(rejectBurst, l.tokens+float64(d)/float64(rejectEvery))
	}
	if now.After(l.last) {
		l.last = now
	}
	if l.tokens < 1 {
		if l.left == nil {
			l.left = make(map[string]uint64)
		}
		l.left[class]++
		l.leftN++
		l.mu.Unlock()
		return
	}
	l.tokens--
	// A new slice, so that the caller's attrs need not escape.
	all := append(make([]slog.Attr, 0, len(attrs)+3), slog.String("reason", class))
	all = append(all, attrs...)
	if l.leftN > 0 {
		byClass := make([]any, 0, 2*len(l.left))
		for c, n := range l.left {
			byClass = append(byClass, slog.Uint64(c, n))
		}
		all = append(all, slog.Uint64("left_out", l.leftN), slog.Group("left_out_by_reason", byClass...))
		clear(l.left)
		l.leftN = 0
	}
	l.mu.Unlock()
	r.log.LogAttrs(ctx, slog.LevelWarn, msg, all...)
}

// resynced counts a (re)established subscription to the Store's hints and
// wakes every local waiter to read again, or, when the Store lost what it
// had, to ask the API.
func (r *Receiver) resynced(lost bool) {
	r.tel.resyncs.Add(context.Background(), 1)
	if lost {
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "store lost what it had taken (its server restarted); every pending job asks the API once")
	}
	r.hub.WakeAll(lost)
}
