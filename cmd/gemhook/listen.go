package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gemhook/gemhook"
)

// delivery is one request the listener saw, verified or not.
type delivery struct {
	Time     time.Time `json:"time"`
	Path     string    `json:"path"`
	Verified bool      `json:"verified"`
	ID       string    `json:"webhook_id,omitempty"`
	Type     string    `json:"type,omitempty"`
	Resource string    `json:"resource,omitempty"`
	Scheme   string    `json:"scheme,omitempty"`
	Error    string    `json:"error,omitempty"`
	Fixture  string    `json:"fixture,omitempty"`      // -record: the file it was written to
	Unsaved  string    `json:"record_error,omitempty"` // -record: why it was not
	claimed  string    // type named by an unverified body, for the report only
}

// receiverFlags are the flags of the commands that verify deliveries.
type receiverFlags struct {
	secrets stringList
	jwksURL string
}

func (rf *receiverFlags) add(e *env) {
	e.flags.Var(&rf.secrets, "secret", "whsec_ secret of a project webhook (repeatable)")
	e.flags.StringVar(&rf.jwksURL, "jwks-url", "", "key set that verifies per-request deliveries, Gemini's is "+gemhook.GeminiJWKSURL+"; empty: project secrets only")
}

func (rf *receiverFlags) config() gemhook.ReceiverConfig {
	return gemhook.ReceiverConfig{Secrets: rf.secrets, JWKSURL: rf.jwksURL}
}

// listener serves a Receiver and reports every delivery, verified or
// rejected, on seen. It verifies each request once for the report, then
// lets the Receiver handle it as it would in production.
type listener struct {
	r    *gemhook.Receiver
	srv  *http.Server
	url  string
	seen chan delivery
	done chan struct{}
	rec  *recorder // nil: fixtures are not recorded
}

func startListener(e *env, addr string, cfg gemhook.ReceiverConfig, rec *recorder) (*listener, error) {
	r, err := gemhook.NewReceiver(cfg)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.Close()
		return nil, err
	}
	l := &listener{r: r, url: "http://" + ln.Addr().String(), seen: make(chan delivery, 64), done: make(chan struct{}), rec: rec}
	l.srv = &http.Server{Handler: http.HandlerFunc(l.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(l.done)
		_ = l.srv.Serve(ln)
	}()
	fmt.Fprintf(e.stderr, "listening on %s\n", l.url)
	return l, nil
}

func (l *listener) close() {
	l.srv.Close()
	<-l.done
	l.r.Close()
}

func (l *listener) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, gemhook.DefaultMaxBodyBytes+1))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	d := delivery{Time: time.Now().UTC(), Path: req.URL.Path, ID: req.Header.Get("Webhook-Id")}
	ev, err := l.r.Verify(req.Context(), req.Header, body)
	if err != nil {
		d.Error = err.Error()
		var env struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(body, &env) == nil {
			d.claimed = env.Type
		}
	} else {
		d.Verified, d.Type, d.Resource, d.Scheme = true, ev.Type, ev.Resource, ev.Scheme
	}
	if l.rec != nil {
		if d.Fixture, err = l.rec.write(req, body, d); err != nil {
			d.Unsaved = err.Error()
		}
	}
	select {
	case l.seen <- d:
	default: // nobody keeps up: the delivery is still served
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	l.r.ServeHTTP(w, req)
}

// probeTimeout bounds -selftest's probes.
const probeTimeout = 30 * time.Second

func listen(ctx context.Context, e *env, args []string) error {
	var rf receiverFlags
	rf.add(e)
	addr := e.flags.String("addr", "127.0.0.1:8080", "address to listen on")
	count := e.flags.Int("count", 0, "exit after this many verified deliveries, not counting -selftest's probes (0: run until interrupted)")
	selftest := e.flags.String("selftest", "", "public URL that should reach this listener: probe it once started")
	record := e.flags.String("record", "", "write each delivery to this directory as a fixture that verify -file replays (no secrets; only the webhook headers)")
	recordMax := e.flags.Int("record-max", 1000, "with -record: stop recording after this many fixtures")
	if err := e.parse(args); err != nil {
		return err
	}
	var rec *recorder
	if *record != "" {
		var err error
		if rec, err = newRecorder(*record, *recordMax); err != nil {
			return err
		}
	}
	l, err := startListener(e, *addr, rf.config(), rec)
	if err != nil {
		return err
	}
	defer l.close()
	var wg sync.WaitGroup
	defer wg.Wait()
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	// Returning (interrupted, -timeout or -count reached) stops a probe
	// still under way.
	pctx, cancelProbe := context.WithTimeout(ctx, probeTimeout)
	defer cancelProbe()
	probe := make(chan error, 1)
	if *selftest != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probe <- l.r.SelfTest(pctx, *selftest)
		}()
	}
	verified := 0
	for {
		select {
		case d := <-l.seen:
			e.printDelivery(d)
			if d.Verified && !isProbe(d) {
				verified++
			}
			if *count > 0 && verified >= *count {
				return nil
			}
		case err := <-probe:
			if err != nil {
				return fmt.Errorf("self-test of %s failed: %w", *selftest, err)
			}
			fmt.Fprintf(e.stderr, "self-test: %s reaches this listener unchanged\n", *selftest)
		case <-ctx.Done():
			if *count > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%d of %d verified deliveries within -timeout %v", verified, *count, e.timeout)
			}
			return nil // interrupted or -timeout: the normal ways to stop
		}
	}
}

// probeIDPrefix begins the webhook-id of every SelfTest probe; it is the
// prefix the root's Receiver.probe (selftest.go) writes, which the root
// does not export. The id, not the type, marks a probe: the second probe's
// body is a bare "{}", and a real event may lack a type too.
const probeIDPrefix = "gemhook_probe_"

// isProbe reports whether d is one of SelfTest's probes.
func isProbe(d delivery) bool {
	return strings.HasPrefix(d.ID, probeIDPrefix)
}

// printDelivery writes one line per delivery: JSON lines with -json.
func (e *env) printDelivery(d delivery) {
	if e.json {
		b, _ := json.Marshal(d)
		fmt.Fprintf(e.stdout, "%s\n", b)
		return
	}
	if d.Verified {
		fmt.Fprintf(e.stdout, "%s  %-8s  %-4s  %-28s  %-40s  %s\n", d.Time.Format(time.RFC3339), "verified", d.Scheme, d.Type, d.Resource, d.ID)
	} else {
		fmt.Fprintf(e.stdout, "%s  %-8s  %-4s  %-28s  %-40s  %s  (%s)\n", d.Time.Format(time.RFC3339), "REJECTED", "-", d.claimed, d.Path, d.ID, d.Error)
	}
	switch {
	case d.Fixture != "":
		fmt.Fprintf(e.stdout, "  recorded %s\n", d.Fixture)
	case d.Unsaved != "":
		fmt.Fprintf(e.stdout, "  not recorded: %s\n", d.Unsaved)
	}
}
