package gemhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"

	"google.golang.org/genai"
)

// TokenKey is the user-metadata key under which gemhook puts the job's
// correlation token. A verified event whose token differs from the one its
// job was submitted with is not routed to that job.
const TokenKey = "gemhook_token"

// SubmitOption adjusts one submission.
type SubmitOption func(*submitConfig)

type submitConfig struct {
	urls     []string
	metadata map[string]any
	err      error
}

// WithWebhookURL sends this job's events to urls instead of
// Config.WebhookURL or the project's webhooks: for example a per-tenant
// path of the same Receiver.
func WithWebhookURL(urls ...string) SubmitOption {
	return func(s *submitConfig) {
		for _, u := range urls {
			if err := checkWebhookURL(u); err != nil {
				s.err = fmt.Errorf("%w: WithWebhookURL: %v", ErrInvalidConfig, err)
				return
			}
		}
		s.urls = append([]string(nil), urls...)
	}
}

// WithUserMetadata attaches m to the job's webhook config; Gemini echoes
// it in every event (Event.UserMetadata). Keys set here win over those in
// the genai config; TokenKey is reserved.
func WithUserMetadata(m map[string]any) SubmitOption {
	return func(s *submitConfig) {
		if s.metadata == nil {
			s.metadata = make(map[string]any, len(m))
		}
		maps.Copy(s.metadata, m)
	}
}

// jobWebhook is the webhook part of one submission, built from the client's
// mode, the genai config the caller passed and the options.
type jobWebhook struct {
	uris     []string
	metadata map[string]any
	token    string
}

// plan decides the webhook config of one job. With a URL (from the
// options, the caller's genai config or Config.WebhookURL) it is a
// per-request webhook with the metadata and a fresh correlation token. In
// project mode no config is sent unless the caller asked for metadata:
// whether an empty URI list would displace the project's webhooks is not
// documented, so gemhook does not find out on the caller's jobs.
func (c *Client) plan(callerURIs []string, callerMeta map[string]any, opts []SubmitOption) (*jobWebhook, error) {
	var s submitConfig
	for _, o := range opts {
		o(&s)
	}
	if s.err != nil {
		return nil, s.err
	}
	uris := s.urls
	if len(uris) == 0 {
		uris = callerURIs
	}
	if len(uris) == 0 && c.webhookURL != "" {
		uris = []string{c.webhookURL}
	}
	if len(uris) == 0 && len(s.metadata) == 0 && len(callerMeta) == 0 {
		return nil, nil
	}
	meta := make(map[string]any, len(callerMeta)+len(s.metadata)+1)
	maps.Copy(meta, callerMeta)
	maps.Copy(meta, s.metadata)
	if err := checkMetadata(meta); err != nil {
		return nil, err
	}
	tok := newToken()
	meta[TokenKey] = tok
	return &jobWebhook{uris: uris, metadata: meta, token: tok}, nil
}

// genaiWebhook is plan for the genai.WebhookConfig that batches and video
// generations take: the config to send (the caller's, untouched, when
// there is nothing to add) and the job's correlation token.
func (c *Client) genaiWebhook(wc *genai.WebhookConfig, opts []SubmitOption) (*genai.WebhookConfig, string, error) {
	var uris []string
	var meta map[string]any
	if wc != nil {
		uris, meta = wc.Uris, wc.UserMetadata
	}
	hook, err := c.plan(uris, meta, opts)
	if err != nil || hook == nil {
		return wc, "", err
	}
	return &genai.WebhookConfig{Uris: hook.uris, UserMetadata: hook.metadata}, hook.token, nil
}

// metadataOf is the metadata of a genai webhook config, if any.
func metadataOf(wc *genai.WebhookConfig) map[string]any {
	if wc == nil {
		return nil
	}
	return wc.UserMetadata
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}
