package gemhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/gemhook/gemhook/internal/signature"
)

// AddSecret starts accepting deliveries signed with a project-level secret,
// for example the new one returned by rotating a webhook's signing secret.
// Keep the old secret until Gemini stops signing with it (24 hours after a
// default rotation), then remove it. Adding a secret twice is a no-op. It is
// safe to call while deliveries are being verified.
func (r *Receiver) AddSecret(secret string) error {
	k, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	r.secretsMu.Lock()
	defer r.secretsMu.Unlock()
	old := r.secrets.Load()
	if indexKey(old.keys, k) >= 0 {
		return nil
	}
	keys := make([][]byte, 0, len(old.keys)+1)
	keys = append(append(keys, k), old.keys...)
	r.secrets.Store(newSecretSet(keys))
	return nil
}

// RemoveSecret stops accepting deliveries signed with secret. A secret that
// is not configured, or not a valid secret, is ignored. Deliveries being
// verified at that moment may still be checked against it.
func (r *Receiver) RemoveSecret(secret string) {
	k, err := decodeSecret(secret)
	if err != nil {
		return
	}
	r.secretsMu.Lock()
	defer r.secretsMu.Unlock()
	old := r.secrets.Load()
	i := indexKey(old.keys, k)
	if i < 0 {
		return
	}
	keys := make([][]byte, 0, len(old.keys)-1)
	keys = append(append(keys, old.keys[:i]...), old.keys[i+1:]...)
	r.secrets.Store(newSecretSet(keys))
}

func decodeSecret(s string) ([]byte, error) {
	k, err := signature.DecodeSecret(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSecret, err)
	}
	return k, nil
}

// indexKey compares in constant time per key: the keys are secrets.
func indexKey(keys [][]byte, k []byte) int {
	at := -1
	for i, have := range keys {
		if hmac.Equal(have, k) {
			at = i
		}
	}
	return at
}

// signerOf names a project secret without revealing it: events remember
// which secret verified them, and Clients which secrets are theirs
// (Config.Secrets), so that one tenant's secret cannot speak for another
// tenant's jobs.
func signerOf(key []byte) string {
	sum := sha256.Sum256(append([]byte("gemhook signer\x00"), key...))
	return hex.EncodeToString(sum[:12])
}
