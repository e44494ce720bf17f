package gemhook

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// ServeHTTP verifies a delivery, drops duplicates, and dispatches it. See
// the package documentation for the status codes it answers.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
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
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ev, err := r.Verify(req.Context(), req.Header, body)
	if err != nil {
		r.log.LogAttrs(req.Context(), slogWarn, "webhook rejected", attrErr(err), attrPath(req.URL.Path))
		fail(w, err)
		return
	}
	ev.Endpoint = req.URL.Path
	if err := r.dispatch(req.Context(), ev); err != nil {
		r.log.LogAttrs(req.Context(), slogWarn, "webhook not accepted now", attrErr(err), attrPath(req.URL.Path))
		unavailable(w)
		return
	}
	if r.onEvent != nil {
		r.onEvent(req.Context(), ev)
	}
	w.WriteHeader(http.StatusNoContent)
}

// jsonContent accepts application/json with any parameters, and refuses
// any content coding: decompressing attacker-sized input before
// authentication is not something a receiver should do.
func jsonContent(h http.Header) bool {
	if ce := h.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
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
	case errors.Is(err, ErrMalformedEvent), errors.Is(err, ErrInvalidTimestamp), errors.Is(err, ErrInvalidHeader):
		http.Error(w, "bad request", http.StatusBadRequest)
	case errors.Is(err, ErrMissingHeader):
		http.Error(w, "bad request", http.StatusBadRequest)
	default:
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}
}

func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	http.Error(w, "unavailable", http.StatusServiceUnavailable)
}
