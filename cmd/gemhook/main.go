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
// Every command prints aligned text, or JSON with -json; with -json a
// failure is a JSON object on stdout ({"error", "kind", "exit"}) as well as
// a message on stderr, and the exit code is non-zero. The API key comes
// from -api-key or GEMINI_API_KEY and is never printed, not even in -h.
// -base-url points at another endpoint, such as the gemhooktest emulator.
// listen runs until interrupted, -count verified deliveries or -timeout.
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
	api              bool // calls Gemini: takes -api-key and -base-url
	runs             bool // runs until stopped: -timeout is optional and ends the run
}

var commands = []command{
	{"ensure", "-uri URL [-events a,b,...]", "create the project webhook for URL, or bring its events and state in line", ensure, true, false},
	{"rotate", "-id ID", "issue a new signing secret; the previous ones stay valid for 24 hours", rotate, true, false},
	{"ping", "-id ID [-listen ADDR -secret S]", "ask Gemini to ping the webhook; with -listen, wait until a local receiver verifies it", ping, true, false},
	{"list", "", "list the project's webhooks", list, true, false},
	{"listen", "-addr ADDR [-secret S] [-selftest URL] [-record DIR]", "run a receiver and print every delivery, verified or not; -record writes each as a fixture", listen, false, true},
	{"verify", "-file REQUEST [-secret S]", "verify a captured HTTP request (a -record fixture, or as written by httputil.DumpRequest)", verify, false, false},
}

// apiKeyEnv holds the default API key. Its value is never a flag default:
// flag prints defaults in -h and usage errors, which end up in terminals
// and CI logs.
const apiKeyEnv = "GEMINI_API_KEY"

// env is what every command shares: its flags, outputs and the way to
// reach Gemini.
type env struct {
	flags   *flag.FlagSet
	usage   func() // prints the command's usage line and flags
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
	// flag's own messages are discarded: parse reports its errors once,
	// in text or JSON, and usage prints the flags.
	e.flags.SetOutput(io.Discard)
	e.flags.BoolVar(&e.json, "json", false, "print JSON instead of aligned text, errors included")
	e.json = wantsJSON(args[1:])
	if cmd.api {
		e.flags.StringVar(&e.apiKey, "api-key", "", "Gemini API key (default $"+apiKeyEnv+")")
		e.flags.StringVar(&e.baseURL, "base-url", os.Getenv("GOOGLE_GEMINI_BASE_URL"), "API base URL (default Gemini's; $GOOGLE_GEMINI_BASE_URL)")
	}
	if cmd.runs {
		e.flags.DurationVar(&e.timeout, "timeout", 0, "stop after this long (0: run until interrupted)")
	} else {
		e.flags.DurationVar(&e.timeout, "timeout", 30*time.Second, "give up after this long")
	}
	e.flags.Usage = func() {}
	e.usage = func() {
		fmt.Fprintf(stderr, "%s\n  %s\n", strings.TrimSpace("usage: gemhook "+cmd.name+" "+cmd.args), cmd.help)
		e.flags.SetOutput(stderr)
		e.flags.PrintDefaults()
		e.flags.SetOutput(io.Discard)
	}
	err := cmd.run(ctx, e, args[1:])
	var ue usageError
	code := exitFail
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		code = exitUsage
	}
	msg := redact(err.Error(), e.apiKey, os.Getenv(apiKeyEnv))
	if e.json {
		e.printError(msg, code)
	}
	fmt.Fprintf(stderr, "gemhook %s: %s\n", cmd.name, msg)
	if code == exitUsage {
		e.usage()
	}
	return code
}

// wantsJSON reports whether args ask for -json, read before parsing so
// that a usage error in args is reported as JSON too.
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-json", "--json", "-json=true", "--json=true":
			return true
		}
	}
	return false
}

// printError writes a failed command's error as JSON on stdout, so that
// scripts reading -json output need no second parser.
func (e *env) printError(msg string, code int) {
	kind := "failed"
	if code == exitUsage {
		kind = "usage"
	}
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
		Kind  string `json:"kind"`
		Exit  int    `json:"exit"`
	}{msg, kind, code})
	fmt.Fprintf(e.stdout, "%s\n", b)
}

// redact replaces API keys in s: an error relayed from elsewhere could
// quote one.
func redact(s string, keys ...string) string {
	for _, k := range keys {
		if k != "" {
			s = strings.ReplaceAll(s, k, "$"+apiKeyEnv)
		}
	}
	return s
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
			e.usage()
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
		e.apiKey = os.Getenv(apiKeyEnv)
	}
	if e.apiKey == "" {
		return nil, nil, usagef("no API key: set %s or pass -api-key", apiKeyEnv)
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
