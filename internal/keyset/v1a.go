package keyset

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"

	"github.com/gemhook/gemhook/internal/signature"
)

// Bounds on the Ed25519 verifications one delivery can cost, each of
// which hashes the whole body: at most maxV1aEntries v1a entries are tried
// (rotation needs two), and at most maxV1aChecks verifications in all,
// over the held set and the refetched one together.
const (
	maxV1aEntries = 2
	maxV1aChecks  = maxV1aEntries * maxV1aKeys
)

// contentPool holds the buffers that id.ts.body is assembled in, because
// ed25519.Verify needs the message in one piece. Buffers that grew for a
// large body are not kept.
var contentPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

const maxPooledContent = 64 << 10

// VerifyV1a checks the v1a entries among entries (Ed25519 over
// id.ts.body). The key that verified last is tried first, so the usual
// delivery costs one ed25519.Verify. When no key verifies, the set may
// have rotated: it is refetched (at most once per cooldown) and its new
// keys are tried. A signature that matches no key tried is a forgery
// (ErrNoMatch) only if every key could be tried: when the set could not
// be refetched, when keys were left out for a cap, or when the checks ran
// out, the error is ErrUnavailable.
func (k *Set) VerifyV1a(ctx context.Context, entries []signature.Entry, id, ts string, body []byte) error {
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
		return fmt.Errorf("%w: no well-formed v1a entry", ErrNoMatch)
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
	budget := maxV1aChecks
	if s.matchV1a(sigs[:n], msg, nil, &budget) {
		return nil
	}
	s2, unavailable := k.refetch(ctx, s)
	if s2 != nil && s2.matchV1a(sigs[:n], msg, s, &budget) {
		return nil
	}
	if unavailable != nil {
		return unavailable
	}
	if s2 != nil {
		s = s2
	}
	switch {
	case len(s.capped) > 0:
		return fmt.Errorf("%w: v1a signature matches none of the %d Ed25519 keys tried; %d more were left out for a cap",
			ErrUnavailable, len(s.ed), len(s.capped))
	case budget < 0:
		return fmt.Errorf("%w: v1a signature matches none of the keys tried within the cap of %d checks per delivery",
			ErrUnavailable, maxV1aChecks)
	}
	return fmt.Errorf("%w: v1a signature matches no published key", ErrNoMatch)
}

// matchV1a tries the last matching key first, then the others, skipping
// keys of the set tried before (prev). Each verification takes one from
// budget; a check it cannot afford leaves budget negative.
func (s *keyState) matchV1a(sigs [][ed25519.SignatureSize]byte, msg []byte, prev *keyState, budget *int) bool {
	if len(s.ed) == 0 {
		return false
	}
	first := int(s.lastV1a.Load())
	if first >= len(s.ed) {
		first = 0
	}
	try := func(j int) bool {
		if prev.holdsEd(s.ed[j]) {
			return false
		}
		for i := range sigs {
			if *budget <= 0 {
				*budget = -1
				return false
			}
			*budget--
			if ed25519.Verify(s.ed[j], msg, sigs[i][:]) {
				return true
			}
		}
		return false
	}
	if try(first) {
		return true
	}
	for j := range s.ed {
		if j != first && try(j) {
			s.lastV1a.Store(int32(j))
			return true
		}
	}
	return false
}

// holdsEd reports whether the set tries key for v1a; a nil set holds none.
func (s *keyState) holdsEd(key ed25519.PublicKey) bool {
	if s == nil {
		return false
	}
	for _, have := range s.ed {
		if have.Equal(key) {
			return true
		}
	}
	return false
}
