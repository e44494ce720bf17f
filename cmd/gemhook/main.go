// Command gemhook manages a Gemini project's webhooks from a shell and
// checks deliveries:
//
//	gemhook ensure -uri URL [-events a,b]   create or fix the webhook for URL
//	gemhook rotate -id ID                   new signing secret, old one valid 24 h
//	gemhook ping   -id ID [-listen ADDR]    ping it; with -listen, wait for the verified ping
//	gemhook list                            the project's webhooks
//	gemhook listen -addr ADDR [-record DIR] run a receiver, print (and record) each delivery
//	gemhook verify -file REQ                check a captured HTTP request or fixture
//
// Every command prints aligned text, or JSON with -json. The API key comes
// from -api-key or GEMINI_API_KEY; -base-url points at another endpoint,
// such as the gemhooktest emulator.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"google.golang.org/genai"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and found a problem, or a call failed
	exitUsage = 2
)

type command struct {
	name, args, help string
	run              func(ctx context.Context, env *env, args []string) error
}

var commands = []command{
	{"ensure", "-uri URL [-events a,b,...]", "create the project webhook for URL, or bring its events and state in line", ensure},
	{"rotate", "-id ID", "issue a new signing secret; the previous ones stay valid for 24 hours", rotate},
	{"ping", "-id ID [-listen ADDR -secret S]", "ask Gemini to ping the webhook; with -listen, wait until a local receiver verifies it", ping},
	{"list", "", "list the project's webhooks", list},
	{"listen", "-addr ADDR [-secret S] [-selftest URL] [-record DIR]", "run a receiver and print every delivery, verified or not; -record writes each as a fixture", listen},
	{"verify", "-file REQUEST [-secret S]", "verify a captured HTTP request (a -record fixture, or as written by httputil.DumpRequest)", verify},
}

// env is what every command shares: its flags, outputs and the way to
// reach Gemini.
type env struct {
	flags   *flag.FlagSet
	stdout  io.Writer
	stderr  io.Writer
	json    bool
	apiKey  string
	baseURL string
	timeout time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == args[0] {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "gemhook: unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
	e := &env{stdout: stdout, stderr: stderr, flags: flag.NewFlagSet("gemhook "+cmd.name, flag.ContinueOnError)}
	e.flags.SetOutput(stderr)
	e.flags.BoolVar(&e.json, "json", false, "print JSON instead of aligned text")
	e.flags.StringVar(&e.apiKey, "api-key", os.Getenv("GEMINI_API_KEY"), "Gemini API key (default $GEMINI_API_KEY)")
	e.flags.StringVar(&e.baseURL, "base-url", os.Getenv("GOOGLE_GEMINI_BASE_URL"), "API base URL (default Gemini's; $GOOGLE_GEMINI_BASE_URL)")
	e.flags.DurationVar(&e.timeout, "timeout", 30*time.Second, "give up after this long")
	e.flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: gemhook %s %s\n  %s\n", cmd.name, cmd.args, cmd.help)
		e.flags.PrintDefaults()
	}
	err := cmd.run(ctx, e, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "gemhook %s: %v\n", cmd.name, err)
		e.flags.Usage()
		return exitUsage
	}
	fmt.Fprintf(stderr, "gemhook %s: %v\n", cmd.name, err)
	return exitFail
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: gemhook <command> [flags]")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.help)
	}
	tw.Flush()
	fmt.Fprintln(w, "Run gemhook <command> -h for a command's flags.")
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// parse parses args and refuses stray positional arguments.
func (e *env) parse(args []string) error {
	if err := e.flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if e.flags.NArg() > 0 {
		return usagef("unexpected argument %q", e.flags.Arg(0))
	}
	return nil
}

// genai returns a client for the Gemini Developer API, and a function that
// drops its idle connections.
func (e *env) genai(ctx context.Context) (*genai.Client, func(), error) {
	if e.apiKey == "" {
		return nil, nil, usagef("no API key: set GEMINI_API_KEY or pass -api-key")
	}
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	cfg := &genai.ClientConfig{
		APIKey:     e.apiKey,
		Backend:    genai.BackendGeminiAPI,
		HTTPClient: &http.Client{Transport: tr},
	}
	if e.baseURL != "" {
		cfg.HTTPOptions.BaseURL = e.baseURL
	}
	gc, err := genai.NewClient(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return gc, tr.CloseIdleConnections, nil
}

// print writes v as indented JSON with -json, or calls text otherwise.
func (e *env) print(v any, text func(w *tabwriter.Writer)) error {
	if e.json {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	text(tw)
	return tw.Flush()
}

// strings is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// splitList splits "a,b c" into its items.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
