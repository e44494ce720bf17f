package gemhooktest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// SignV1 returns the headers Gemini puts on a delivery of body to a
// project webhook: webhook-id, webhook-timestamp (ts in Unix seconds),
// Content-Type application/json, and a webhook-signature holding one
// Standard Webhooks v1 entry per secret, in the order given (Gemini lists
// the newest first while a rotation's old secret lives). Secrets are
// "whsec_..." strings, as RegisterWebhook returns them and
// gemhook.ReceiverConfig takes them; it fails only on one that is not.
// With none, the signature is empty: a delivery every receiver refuses.
//
// It lets a test forge a delivery without a Server: post body with these
// headers to a Receiver, or pass both to its Verify. The Server signs its
// own project deliveries with it.
func SignV1(id string, ts time.Time, body []byte, secrets ...string) (http.Header, error) {
	unix := strconv.FormatInt(ts.Unix(), 10)
	var sig strings.Builder
	for i, sc := range secrets {
		key, err := signature.DecodeSecret(sc)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			sig.WriteByte(' ')
		}
		sig.WriteString(signature.SignV1(key, id, unix, body))
	}
	return deliveryHeader(id, unix, sig.String()), nil
}

// Sign returns the headers of a delivery of body to a per-request webhook
// URI, signed as the Server signs those: one v1a entry made with the first
// Ed25519 key of its set or, under Options.JWS, an RS256 JWS whose claims
// are body's members plus iat (ts), exp, and the Options' iss and aud. A
// Receiver whose JWKSURL is s.JWKSURL accepts them. It fails only under
// Options.JWS, on a body that is not a JSON object.
func (s *Server) Sign(id string, ts time.Time, body []byte) (http.Header, error) {
	return s.signPerRequest(0, id, ts, body)
}

// signPerRequest is Sign with the v1a key to use, which the sender draws.
func (s *Server) signPerRequest(edKey int, id string, ts time.Time, body []byte) (http.Header, error) {
	unix := strconv.FormatInt(ts.Unix(), 10)
	if s.opts.JWS {
		tok, err := s.signJWS(body, ts)
		if err != nil {
			return nil, err
		}
		return deliveryHeader(id, unix, tok), nil
	}
	return deliveryHeader(id, unix, signature.SignV1a(s.keys.ed[edKey], id, unix, body)), nil
}

func deliveryHeader(id, ts, sig string) http.Header {
	return http.Header{
		"Content-Type":      {"application/json"},
		"Webhook-Id":        {id},
		"Webhook-Timestamp": {ts},
		"Webhook-Signature": {sig},
	}
}
