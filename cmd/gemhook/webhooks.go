package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gemhook/gemhook"
)

// client builds a gemhook Client whose Receiver serves nothing: ensure and
// rotate only need its Gemini calls.
func (e *env) client(ctx context.Context) (*gemhook.Client, func(), error) {
	gc, closeIdle, err := e.genai(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := gemhook.NewReceiver(gemhook.ReceiverConfig{})
	if err != nil {
		closeIdle()
		return nil, nil, err
	}
	c, err := gemhook.New(gemhook.Config{GenAI: gc, Receiver: r, Fallback: gemhook.Fallback{Disabled: true},
		Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		r.Close()
		closeIdle()
		return nil, nil, err
	}
	return c, func() { c.Close(); r.Close(); closeIdle() }, nil
}

func ensure(ctx context.Context, e *env, args []string) error {
	uri := e.flags.String("uri", "", "the URL Gemini should deliver to (required)")
	events := e.flags.String("events", "", "comma-separated event types (default: every type of Gemini's API)")
	if err := e.parse(args); err != nil {
		return err
	}
	if *uri == "" {
		return usagef("-uri is required")
	}
	evs := splitList(*events)
	// Check names before dialling anything: a typo is a usage error.
	if err := gemhook.CheckEvents(evs...); err != nil {
		return usageError{err.Error()}
	}
	c, done, err := e.client(ctx)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	ph, err := c.EnsureWebhook(ctx, *uri, evs...)
	if err != nil {
		return err
	}
	return e.print(webhookJSON(ph), func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "id\t%s\n", ph.ID)
		fmt.Fprintf(w, "uri\t%s\n", ph.URI)
		fmt.Fprintf(w, "state\t%s\n", ph.State)
		fmt.Fprintf(w, "events\t%s\n", strings.Join(ph.Events, ","))
		if ph.Secret != "" {
			fmt.Fprintf(w, "secret\t%s\t(shown once: store it now)\n", ph.Secret)
		}
	})
}

type hookOut struct {
	ID      string   `json:"id"`
	URI     string   `json:"uri"`
	State   string   `json:"state"`
	Events  []string `json:"events"`
	Secret  string   `json:"secret,omitempty"`
	Secrets int      `json:"signing_secrets,omitempty"`
}

func webhookJSON(ph *gemhook.ProjectWebhook) hookOut {
	return hookOut{ID: ph.ID, URI: ph.URI, State: ph.State, Events: ph.Events, Secret: ph.Secret, Secrets: ph.NumSecrets}
}

func rotate(ctx context.Context, e *env, args []string) error {
	id := e.flags.String("id", "", "webhook id (required)")
	if err := e.parse(args); err != nil {
		return err
	}
	if *id == "" {
		return usagef("-id is required")
	}
	c, done, err := e.client(ctx)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	secret, err := c.RotateWebhookSecret(ctx, *id)
	if err != nil {
		return err
	}
	until := time.Now().Add(gemhook.SecretRevocationDelay).UTC().Format(time.RFC3339)
	return e.print(struct {
		ID            string `json:"id"`
		Secret        string `json:"secret"`
		PreviousUntil string `json:"previous_valid_until"`
	}{*id, secret, until}, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "id\t%s\n", *id)
		fmt.Fprintf(w, "secret\t%s\t(shown once: add it to your receivers now)\n", secret)
		fmt.Fprintf(w, "previous valid until\t%s\n", until)
	})
}

func list(ctx context.Context, e *env, args []string) error {
	if err := e.parse(args); err != nil {
		return err
	}
	c, done, err := e.client(ctx)
	if err != nil {
		return err
	}
	defer done()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	hooks, err := c.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	out := make([]hookOut, 0, len(hooks))
	for _, ph := range hooks {
		out = append(out, webhookJSON(ph))
	}
	return e.print(out, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "ID\tSTATE\tSECRETS\tEVENTS\tURI")
		for _, h := range out {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", h.ID, h.State, h.Secrets, strings.Join(h.Events, ","), h.URI)
		}
	})
}
