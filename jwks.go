package gemhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// keySet holds Gemini's published signing keys. (Scaffold: replaced by the
// key-set work; until then per-request deliveries never verify.)
type keySet struct{}

func newKeySet(cfg ReceiverConfig, now func() time.Time, log *slog.Logger) (*keySet, error) {
	return &keySet{}, nil
}

func (k *keySet) verifyV1a(ctx context.Context, entries []signature.Entry, id, ts string, body []byte) error {
	return ErrNoMatchingSignature
}

func (k *keySet) verifyJWS(ctx context.Context, entries []signature.Entry, body []byte) error {
	return ErrNoMatchingSignature
}

func (k *keySet) close() {}
