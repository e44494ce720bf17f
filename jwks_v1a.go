package gemhook

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"

	"github.com/gemhook/gemhook/internal/signature"
)

// maxV1aEntries bounds the Ed25519 verifications one delivery can cost:
// at most this many v1a entries are tried, each against at most
// maxV1aKeys keys. Rotation needs two.
const maxV1aEntries = 3

// contentPool holds the buffers that id.ts.body is assembled in, because
// ed25519.Verify needs the message in one piece. Buffers that grew for a
// large body are not kept.
var contentPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledContent = 64 << 10

// verifyV1a checks the v1a entries (Ed25519 over id.ts.body) against the
// key set. The key that verified last is tried first, so the usual
// delivery costs one ed25519.Verify. When no key verifies, the set may
// have rotated: it is refetched (at most once per cooldown) and tried once
// more. If it could not be refetched, the delivery could not be checked
// and the error is ErrKeysUnavailable rather than a forgery.
func (k *keySet) verifyV1a(ctx context.Context, entries []signature.Entry, id, ts string, body []byte) error {
	var sigs [maxV1aEntries][ed25519.SignatureSize]byte
	n := 0
	for _, e := range entries {
		if e.Scheme != signature.SchemeV1a || n == maxV1aEntries {
			continue
		}
		if signature.DecodeV1a(e.Value, &sigs[n]) {
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: no well-formed v1a entry", ErrNoMatchingSignature)
	}
	s, err := k.current(ctx)
	if err != nil {
		return err
	}
	bp := contentPool.Get().(*[]byte)
	msg := append(append(append(append(append((*bp)[:0], id...), '.'), ts...), '.'), body...)
	defer func() {
		if cap(msg) <= maxPooledContent {
			*bp = msg[:0]
			contentPool.Put(bp)
		}
	}()
	if s.matchV1a(sigs[:n], msg) {
		return nil
	}
	s2, unavailable := k.refetch(ctx, s)
	if s2 != nil && s2.matchV1a(sigs[:n], msg) {
		return nil
	}
	if unavailable != nil {
		return unavailable
	}
	return fmt.Errorf("%w: v1a signature matches no published key", ErrNoMatchingSignature)
}

// matchV1a tries the last matching key first, then the others.
func (s *keyState) matchV1a(sigs [][ed25519.SignatureSize]byte, msg []byte) bool {
	if len(s.ed) == 0 {
		return false
	}
	first := int(s.lastV1a.Load())
	if first >= len(s.ed) {
		first = 0
	}
	for i := range sigs {
		if ed25519.Verify(s.ed[first], msg, sigs[i][:]) {
			return true
		}
	}
	for j, key := range s.ed {
		if j == first {
			continue
		}
		for i := range sigs {
			if ed25519.Verify(key, msg, sigs[i][:]) {
				s.lastV1a.Store(int32(j))
				return true
			}
		}
	}
	return false
}
