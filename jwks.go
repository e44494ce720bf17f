package gemhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gemhook/gemhook/internal/keyset"
	"github.com/gemhook/gemhook/internal/signature"
)

// This file is the Receiver's side of Gemini's key set, which verifies
// per-request (v1a and JWS) deliveries. The machinery, fetching,
// refreshing, caps and the checks themselves, is internal/keyset; here
// its config comes from ReceiverConfig and its errors become the
// sentinels callers branch on.

// newKeySet builds the key set of a Receiver whose ReceiverConfig.JWKSURL
// is set. Nothing is fetched until a delivery needs a key.
func newKeySet(cfg ReceiverConfig, now func() time.Time, log *slog.Logger, tel *telemetry) (*keyset.Set, error) {
	ks, err := keyset.New(keyset.Config{
		URL:      cfg.JWKSURL,
		Client:   cfg.HTTPClient,
		Now:      now,
		Logger:   log,
		Audience: cfg.Audience,
		Issuer:   cfg.Issuer,
		OnFetch:  tel.fetched,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: ReceiverConfig.JWKSURL %q is not an absolute http(s) URL", ErrInvalidConfig, cfg.JWKSURL)
	}
	return ks, nil
}

// verifyV1a checks the delivery's v1a entries against the key set.
func (r *Receiver) verifyV1a(ctx context.Context, entries []signature.Entry, id, ts string, body []byte) error {
	return keysError(r.keys.VerifyV1a(ctx, entries, id, ts, body))
}

// verifyJWS checks the delivery's JWS entries against the key set, and
// returns the replay key of the token that verified (see Event.DedupeKey).
func (r *Receiver) verifyJWS(ctx context.Context, entries []signature.Entry, body []byte) (string, error) {
	replay, err := r.keys.VerifyJWS(ctx, entries, body)
	return replay, keysError(err)
}

// keysError puts an error of the key set under the sentinels a Receiver's
// callers branch on: ErrNoMatchingSignature for a forgery, and
// ErrKeysUnavailable (with ErrClosed once the Receiver is closed) for a
// delivery that could not be checked.
func keysError(err error) error {
	var e *keyErr
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyset.ErrUnavailable):
		e = &keyErr{is: ErrKeysUnavailable, from: keyset.ErrUnavailable, err: err}
		if errors.Is(err, keyset.ErrClosed) {
			e.closed = ErrClosed
		}
	default:
		e = &keyErr{is: ErrNoMatchingSignature, from: keyset.ErrNoMatch, err: err}
	}
	return e
}

// keyErr is a key set error that matches a root sentinel. Its text is the
// key set's with the root sentinel's text in place of keyset's, so that
// logs read as they would had the Receiver said it.
type keyErr struct {
	is, from, closed error
	err              error
}

func (e *keyErr) Error() string {
	msg := e.err.Error()
	if rest, ok := strings.CutPrefix(msg, e.from.Error()); ok {
		return e.is.Error() + rest
	}
	return e.is.Error() + ": " + msg
}

func (e *keyErr) Unwrap() []error {
	if e.closed != nil {
		return []error{e.is, e.closed, e.err}
	}
	return []error{e.is, e.err}
}
