package keyset

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Bounds on what a fetch may cost. Google publishes three keys in well
// under a kilobyte.
const (
	maxBytes = 256 << 10 // response body
	maxKeys  = 32        // entries in "keys"; jwk.Parse refuses more
)

// defaultClient is used when Config.Client is nil. It does not follow
// redirects: the key set must come from the configured URL, not from
// wherever a compromised or misconfigured host points (for example a cloud
// metadata address). It has its own transport, whose idle connections
// Close closes. A client from Config is used as it is; the fetch timeout
// and the body cap apply to it as well.
func defaultClient() *http.Client {
	return &http.Client{
		Transport:     transport(),
		Timeout:       fetchTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return ErrRedirect },
	}
}

// transport clones net/http's default transport, or, when the program has
// replaced http.DefaultTransport with a wrapper (tracing and metrics
// libraries do), which cannot be cloned, builds one with the same settings.
func transport() *http.Transport {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%w: %q", ErrURL, s)
	}
	return nil
}

// fetch downloads and parses the key set. net/http does the transfer
// rather than jwk.Fetch, which cannot take a per-call key cap and hides
// the response headers, whose max-age sets the refresh time.
func (k *Set) fetch(ctx context.Context) (*keyState, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10)) // lets the connection be reused
		return nil, fmt.Errorf("JWKS endpoint answered %s", res.Status)
	}
	if res.ContentLength > maxBytes {
		return nil, fmt.Errorf("JWKS response of %d bytes is over the %d byte cap", res.ContentLength, maxBytes)
	}
	doc, err := io.ReadAll(io.LimitReader(res.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading JWKS response: %w", err)
	}
	if len(doc) > maxBytes {
		return nil, fmt.Errorf("JWKS response is over the %d byte cap", maxBytes)
	}
	entries, err := parseJWKS(doc)
	if err != nil {
		return nil, err
	}
	now := k.now()
	s, err := newKeyState(entries, now, now.Add(refreshAfter(res.Header)))
	if err != nil {
		return nil, err
	}
	for _, d := range s.dropped {
		k.log.LogAttrs(ctx, slog.LevelDebug, "gemhook: JWKS key ignored", slog.String("reason", d))
	}
	for _, d := range s.capped {
		// Deliveries signed by it are refused as unavailable until the
		// set shrinks.
		k.log.LogAttrs(ctx, slog.LevelWarn, "gemhook: JWKS key left out for a cap", slog.String("reason", d))
	}
	return s, nil
}

// refreshAfter reads max-age from Cache-Control and clamps it, so that a
// tiny max-age cannot cause a fetch storm nor a huge one pin revoked keys.
func refreshAfter(h http.Header) time.Duration {
	for _, v := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(v, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(d), "=")
			if !ok || !strings.EqualFold(name, "max-age") {
				continue
			}
			sec, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
			if err != nil || sec < 0 {
				continue
			}
			return min(max(time.Duration(min(sec, 1<<32))*time.Second, minRefresh), maxRefresh)
		}
	}
	return defaultRefresh
}
