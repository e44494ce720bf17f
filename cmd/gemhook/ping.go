package main

import (
	"context"
	"fmt"
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
	if *addr != "" && len(rf.secrets) == 0 {
		return usagef("-listen needs the webhook's -secret to verify the ping")
	}
	gc, closeIdle, err := e.genai(ctx)
	if err != nil {
		return err
	}
	defer closeIdle()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if *addr == "" {
		if _, err := gc.Webhooks.Ping(ctx, operations.PingWebhookRequest{ID: *id, Body: &webhooks.PingWebhookRequest{}}); err != nil {
			return fmt.Errorf("asking Gemini to ping %s: %w", *id, err)
		}
		return e.print(map[string]string{"id": *id, "result": "requested"}, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "id\t%s\nresult\trequested (run with -listen to wait for it)\n", *id)
		})
	}
	l, err := startListener(e, *addr, rf.config(), nil)
	if err != nil {
		return err
	}
	defer l.close()
	// The Client only pings: with polling disabled it starts no work of its own.
	c, err := gemhook.New(gemhook.Config{GenAI: gc, Receiver: l.r, Fallback: gemhook.Fallback{Disabled: true}})
	if err != nil {
		return err
	}
	defer c.Close()
	// A failed check is a *gemhook.CheckError, whose text carries the
	// reason and what to do about it.
	if err := c.PingWebhook(ctx, *id); err != nil {
		return err
	}
	out := map[string]any{"id": *id, "result": "verified"}
	text := fmt.Sprintf("id\t%s\nresult\tverified\n", *id)
	// The listener reports a delivery before the Receiver handles it, so the
	// ping is already on seen; other deliveries may follow it, and the root
	// does not say which one was the ping, so this is the last verified one.
	if d, ok := lastVerified(l.seen); ok {
		out["scheme"], out["type"], out["path"] = d.Scheme, d.Type, d.Path
		text += fmt.Sprintf("scheme\t%s\ntype\t%s\npath\t%s\n", d.Scheme, d.Type, d.Path)
	}
	return e.print(out, func(w *tabwriter.Writer) { fmt.Fprint(w, text) })
}

// lastVerified drains what the listener has reported so far.
func lastVerified(seen <-chan delivery) (delivery, bool) {
	var last delivery
	var ok bool
	for {
		select {
		case d := <-seen:
			if d.Verified {
				last, ok = d, true
			}
		default:
			return last, ok
		}
	}
}
