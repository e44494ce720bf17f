package gemhook

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/gemhook/gemhook/internal/keyset"
)

// This file is the Receiver's side of Gemini's key set, which verifies
// per-request (v1a and JWS) deliveries. The machinery, fetching,
// refreshing, caps and the checks themselves, is internal/keyset; here
// its config comes from ReceiverConfig. Its errors need no translation:
// its sentinels are ErrKeysUnavailable and ErrNoMatchingSignature.

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
		Closed:   errKeysClosed,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: ReceiverConfig.JWKSURL: %w", ErrInvalidConfig, err)
	}
	return ks, nil
}

// errKeysClosed is what the key set of a closed Receiver fails with, under
// ErrKeysUnavailable.
var errKeysClosed = fmt.Errorf("key set: %w", ErrClosed)
