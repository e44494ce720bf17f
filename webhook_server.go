package gemhook

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serverTimeouts bound what one connection may cost the embedded server.
type serverTimeouts struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

// defaultTimeouts: headers must arrive promptly (slowloris); a body of
// MaxBodyBytes gets more; the write deadline covers the handler, which may
// wait for an identical in-flight delivery; MaxHeaderBytes leaves room for
// a JWS in webhook-signature and little else.
var defaultTimeouts = serverTimeouts{
	readHeader:     5 * time.Second,
	read:           15 * time.Second,
	write:          30 * time.Second,
	idle:           60 * time.Second,
	maxHeaderBytes: 64 << 10,
}

// ListenAndServe listens on the TCP address addr and serves deliveries
// there, for programs that have no HTTP server of their own. It blocks
// until the server stops and then returns http.ErrServerClosed (after
// Shutdown or Close) or the error that stopped it. Serve TLS with a proxy in
// front, or mount the Receiver on your own http.Server instead.
func (r *Receiver) ListenAndServe(addr string) error {
	if r.closed.Load() {
		return http.ErrServerClosed
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return r.Serve(l)
}

// Serve serves deliveries on l, like ListenAndServe. It may be called for
// several listeners; they share one server, which Shutdown stops. Serve
// closes l when it returns.
func (r *Receiver) Serve(l net.Listener) error {
	srv := r.server()
	if srv == nil {
		l.Close()
		return http.ErrServerClosed
	}
	return srv.Serve(l)
}

// server returns the embedded server, creating it on first use, or nil
// after Close.
func (r *Receiver) server() *http.Server {
	r.srvMu.Lock()
	defer r.srvMu.Unlock()
	if r.closed.Load() {
		return nil
	}
	if r.srv == nil {
		t := r.timeouts
		r.srv = &http.Server{
			Handler:           r,
			ReadHeaderTimeout: t.readHeader,
			ReadTimeout:       t.read,
			WriteTimeout:      t.write,
			IdleTimeout:       t.idle,
			MaxHeaderBytes:    t.maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
		}
	}
	return r.srv
}

// Shutdown stops the embedded server gracefully: it stops accepting
// connections, lets deliveries in progress finish (each then gets its
// answer), and closes idle connections; then it closes the Receiver, which
// stops its goroutines. Deliveries that reach the Receiver from elsewhere
// afterwards are answered 503. If ctx ends first, Shutdown still closes the
// Receiver and returns ctx's error. A Receiver without an embedded server is
// simply closed.
func (r *Receiver) Shutdown(ctx context.Context) error {
	r.srvMu.Lock()
	srv := r.srv
	r.srvMu.Unlock()
	var err error
	if srv != nil {
		err = srv.Shutdown(ctx)
	}
	r.Close()
	return err
}
