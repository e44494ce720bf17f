package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/internal/signature"
)

func verify(ctx context.Context, e *env, args []string) error {
	var rf receiverFlags
	rf.add(e)
	file := e.flags.String("file", "", "captured HTTP request: request line, headers, blank line, body (required; - for stdin)")
	at := e.flags.String("now", "", `check the timestamp against this time (RFC 3339, Unix seconds or "now"); `+
		"default: the request's own webhook-timestamp, so only the signature is checked")
	if err := e.parse(args); err != nil {
		return err
	}
	if *file == "" {
		return usagef("-file is required")
	}
	var src io.Reader = os.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	br := bufio.NewReader(io.LimitReader(src, 2*gemhook.DefaultMaxBodyBytes))
	req, err := http.ReadRequest(br)
	if err != nil {
		return fmt.Errorf("%s is not an HTTP request: %w", *file, err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return fmt.Errorf("reading the body of %s: %w", *file, err)
	}
	// Dumps of client requests (httputil.DumpRequest) carry no
	// Content-Length: then the body is the rest of the file, exactly.
	if req.ContentLength <= 0 && len(req.TransferEncoding) == 0 && req.Header.Get("Content-Length") == "" {
		rest, err := io.ReadAll(br)
		if err != nil {
			return fmt.Errorf("reading the body of %s: %w", *file, err)
		}
		body = append(body, rest...)
	}
	now, err := checkTime(*at, req.Header.Get("Webhook-Timestamp"))
	if err != nil {
		return usageError{err.Error()}
	}
	cfg := rf.config()
	cfg.Now = func() time.Time { return now }
	r, err := gemhook.NewReceiver(cfg)
	if err != nil {
		return usageError{err.Error()}
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	ev, err := r.Verify(ctx, req.Header, bytes.Clone(body))
	if err != nil && len(rf.secrets) == 0 && hasV1(req.Header.Get("Webhook-Signature")) {
		return usagef("%s is signed by a project webhook (v1): pass the webhook's secret with -secret whsec_...", *file)
	}
	if err != nil {
		return fmt.Errorf("%s does not verify: %w%s", *file, err, hint(err))
	}
	return e.print(map[string]any{"verified": true, "webhook_id": ev.ID, "type": ev.Type, "resource": ev.Resource,
		"scheme": ev.Scheme, "timestamp": ev.Timestamp},
		func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "result\tverified\nscheme\t%s\nwebhook-id\t%s\ntype\t%s\nresource\t%s\n", ev.Scheme, ev.ID, ev.Type, ev.Resource)
		})
}

// checkTime is the clock to verify with.
func checkTime(flag, header string) (time.Time, error) {
	switch flag {
	case "now":
		return time.Now(), nil
	case "":
		sec, err := strconv.ParseInt(header, 10, 64)
		if err != nil {
			return time.Now(), nil // Verify will say what is wrong with it
		}
		return time.Unix(sec, 0), nil
	}
	if sec, err := strconv.ParseInt(flag, 10, 64); err == nil {
		return time.Unix(sec, 0), nil
	}
	t, err := time.Parse(time.RFC3339, flag)
	if err != nil {
		return time.Time{}, fmt.Errorf("-now %q: want RFC 3339, Unix seconds or \"now\"", flag)
	}
	return t, nil
}

// hasV1 reports whether a webhook-signature list holds a v1 (HMAC) entry.
func hasV1(list string) bool {
	entries, err := signature.ParseList(list)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Scheme == signature.SchemeV1 {
			return true
		}
	}
	return false
}

func hint(err error) string {
	switch {
	case errors.Is(err, gemhook.ErrNoMatchingSignature):
		return "\n  the secret does not verify the bytes that arrived: either it is not the webhook's current secret " +
			"(rotate to get one), or something on the way re-encodes the body"
	case errors.Is(err, gemhook.ErrTimestampTooOld), errors.Is(err, gemhook.ErrTimestampTooNew):
		return "\n  this machine's clock and Gemini's disagree"
	case errors.Is(err, gemhook.ErrMissingHeader), errors.Is(err, gemhook.ErrInvalidHeader):
		return "\n  something on the way drops or rewrites the webhook-* headers"
	}
	return ""
}
