package gemhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gemhook/gemhook/internal/signature"
)

// ProbeType is the event type of SelfTest's probes. A probe is an ordinary
// verified event that names no job, so no future sees it; OnEvent does, and
// may skip it by this type. (When the first probe is rejected, a second one
// with the body "{}" follows; OnEvent sees that one with an empty Type.)
const ProbeType = "gemhook.probe"

// probeTimeout bounds one probe request when ctx has no earlier deadline.
const probeTimeout = 10 * time.Second

// SelfTest checks per-request mode end to end before a real job depends on
// it: it posts a probe signed with a one-off key to Config.WebhookURL, the
// public URL Gemini will call, and returns nil only if the probe reached
// this Client's Receiver with its bytes and headers unchanged. It catches
// URLs that lead elsewhere, redirects, and proxies that re-encode bodies.
// The probe is signed with a throwaway secret the Receiver accepts only
// for the duration of the test. A failed check is a *CheckError matching
// ErrNotDelivered or ErrRejected.
func (c *Client) SelfTest(ctx context.Context) error {
	if c.isClosed() {
		return ErrClosed
	}
	if c.webhookURL == "" {
		return fmt.Errorf("%w: SelfTest needs Config.WebhookURL; in project mode use PingWebhook", ErrInvalidConfig)
	}
	return c.recv.SelfTest(ctx, c.webhookURL)
}

// SelfTest posts probes signed with a one-off secret to url and returns nil
// only if one reached r unchanged: see Client.SelfTest. It may be called
// while r serves other deliveries.
func (r *Receiver) SelfTest(ctx context.Context, url string) error {
	if r.closed.Load() {
		return ErrClosed
	}
	if err := checkWebhookURL(url); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidWebhookURI, err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	secret := signature.EncodeSecret(key)
	if err := r.AddSecret(secret); err != nil {
		return err
	}
	defer r.RemoveSecret(secret)

	// Straight to the URL, as Gemini posts: no proxy from the environment,
	// no redirects, no connections kept afterwards.
	tr := &http.Transport{ForceAttemptHTTP2: true, TLSHandshakeTimeout: probeTimeout}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// The first probe is fragile on purpose: spacing, escapes and key order
	// that any re-encoding would change.
	status, seen, err := r.probe(ctx, hc, url, key, fragileProbe)
	fail := func(reason CheckReason, err error, detail string, a ...any) error {
		return &CheckError{Check: "self-test", Target: url, Reason: reason, Err: err, Detail: fmt.Sprintf(detail, a...)}
	}
	switch {
	case err != nil:
		return fail(ReasonUnreachable, err, "")
	case status >= 300 && status < 400:
		return fail(ReasonUnreachable, nil, "it answered %d (a redirect); give Gemini the final URL", status)
	case seen && status >= 200 && status < 300:
		return nil
	case seen:
		return fail(ReasonRejected, nil, "this receiver saw the probe, but the endpoint answered %d", status)
	case status >= 200 && status < 300:
		return fail(ReasonElsewhere, nil, "it answered %d, but this receiver never saw the probe; the URL leads elsewhere", status)
	case status != http.StatusUnauthorized && status != http.StatusBadRequest:
		return fail(ReasonElsewhere, nil, "it answered %d; is the receiver mounted at that path?", status)
	}
	// Rejected: see whether a body that survives re-encoding gets through.
	status2, seen2, err := r.probe(ctx, hc, url, key, sturdyProbe)
	if err == nil && seen2 && status2 >= 200 && status2 < 300 {
		return fail(ReasonBodyAltered, nil, "it refused a probe with ordinary JSON (%d) but took one whose body was {}; "+
			"a proxy or framework re-encodes request bodies: pass them through byte for byte", status)
	}
	return fail(ReasonRejected, nil, "it answered %d to correctly signed probes; the webhook-id, webhook-timestamp or "+
		"webhook-signature headers are changed on the way, or the URL leads to another receiver", status)
}

// probe posts one probe and reports the status and whether this Receiver
// verified and took it: a delivery is remembered by its webhook-id only
// once it has been verified and dispatched.
func (r *Receiver) probe(ctx context.Context, hc *http.Client, url string, key []byte, body func(id, ts string) []byte) (int, bool, error) {
	id := "gemhook_probe_" + newToken()
	now := r.now()
	ts := strconv.FormatInt(now.Unix(), 10)
	b := body(id, now.UTC().Format(time.RFC3339))
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gemhook-selftest")
	req.Header.Set("Webhook-Id", id)
	req.Header.Set("Webhook-Timestamp", ts)
	req.Header.Set("Webhook-Signature", signature.SignV1(key, id, ts, b))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, false, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, r.saw(id), nil
}

// saw reports whether id was handled here, without leaving a trace.
func (r *Receiver) saw(id string) bool {
	key := idKey(id)
	call, first := r.seen.Claim(key)
	if first {
		r.seen.Finish(key, call, errProbeUnseen)
	}
	return !first
}

var errProbeUnseen = errors.New("gemhook: probe not seen")

func fragileProbe(id, ts string) []byte {
	return []byte(`{ "type": "` + ProbeType + `", "version": "v1", "timestamp": "` + ts + `",` +
		"\n  " + `"data": {"id": "` + id + `", "note": "caf\u00e9 \/ 1.0e2"}}` + "\n")
}

// sturdyProbe is the one JSON object every re-encoder writes back as it
// was. It carries no type, so OnEvent sees it with an empty Type.
func sturdyProbe(string, string) []byte { return []byte(`{}`) }
