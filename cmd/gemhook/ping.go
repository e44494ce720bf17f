package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"google.golang.org/genai/interactions/models/operations"
	"google.golang.org/genai/interactions/models/webhooks"

	"github.com/gemhook/gemhook"
)

func ping(ctx context.Context, e *env, args []string) error {
	var rf receiverFlags
	rf.add(e)
	id := e.flags.String("id", "", "webhook id (required)")
	addr := e.flags.String("listen", "", "run a receiver on this address and wait until it verifies the ping; "+
		"the webhook's URI must lead here")
	if err := e.parse(args); err != nil {
		return err
	}
	if *id == "" {
		return usagef("-id is required")
	}
	gc, closeIdle, err := e.genai(ctx)
	if err != nil {
		return err
	}
	defer closeIdle()
	var l *listener
	if *addr != "" {
		if len(rf.secrets) == 0 {
			return usagef("-listen needs the webhook's -secret to verify the ping")
		}
		if l, err = startListener(e, *addr, rf.config(), nil); err != nil {
			return err
		}
		defer l.close()
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if _, err := gc.Webhooks.Ping(ctx, operations.PingWebhookRequest{ID: *id, Body: &webhooks.PingWebhookRequest{}}); err != nil {
		return fmt.Errorf("asking Gemini to ping %s: %w", *id, err)
	}
	if l == nil {
		return e.print(map[string]string{"id": *id, "result": "requested"}, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "id\t%s\nresult\trequested (run with -listen to wait for it)\n", *id)
		})
	}
	for {
		select {
		case d := <-l.seen:
			if d.Verified && isPing(d.Type, d.Resource, *id) {
				return e.print(map[string]any{"id": *id, "result": "verified", "scheme": d.Scheme, "type": d.Type, "path": d.Path},
					func(w *tabwriter.Writer) {
						fmt.Fprintf(w, "id\t%s\nresult\tverified\nscheme\t%s\ntype\t%s\npath\t%s\n", *id, d.Scheme, d.Type, d.Path)
					})
			}
			if !d.Verified && d.claimed.id != "" && isPing(d.claimed.typ, d.claimed.id, *id) {
				return fmt.Errorf("the ping reached %s but was rejected: %w%s", d.Path, d.err, hint(d.err))
			}
		case <-ctx.Done():
			return fmt.Errorf("no ping from webhook %s reached %s within %v: check that the webhook's URI leads here", *id, l.url, e.timeout)
		}
	}
}

// isPing: the ping's type and body are not documented; the emulator sends
// "webhook.ping" with the webhook id as data.id. A delivery naming another
// webhook is that one's ping (retried for hours), not this one's.
func isPing(typ, resource, id string) bool {
	if resource != "" {
		return resource == id || strings.HasSuffix(resource, "/"+id)
	}
	return typ == "ping" || strings.HasSuffix(typ, ".ping")
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
