package gemhook

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// firstRead closes entered the first time the handler reads the body.
type firstRead struct {
	io.ReadCloser
	once    bool
	entered chan<- struct{}
}

func (f *firstRead) Read(p []byte) (int, error) {
	if !f.once {
		f.once = true
		f.entered <- struct{}{}
	}
	return f.ReadCloser.Read(p)
}

// Finding 2 of issue 13: 200 connections that declare a body of 1 MB
// (under a 1 MiB cap) and send none of it must not make the receiver
// hold 200 MB before anything is authenticated. Each handler has started
// reading (so any buffer sized from Content-Length exists) when the heap
// is measured.
func TestDeclaredLengthNotAllocated(t *testing.T) {
	defer leaktest.Check(t)()
	const conns, declared = 200, 1_000_000
	h := newHarness(t, ReceiverConfig{MaxBodyBytes: 1 << 20})
	entered := make(chan struct{}, conns)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Body = &firstRead{ReadCloser: req.Body, entered: entered}
		h.r.ServeHTTP(w, req)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer srv.Close()

	head := requestHead(eventDelivery(t, vecID, eventBody), declared)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	open := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for range conns {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
	}
	for range conns {
		<-entered
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew %.1f MiB for %d connections declaring %d bytes", float64(grew)/(1<<20), conns, declared)
	if grew > 32<<20 {
		t.Fatalf("heap grew %d MiB, want < 32 MiB", grew>>20)
	}
	for _, c := range open {
		c.Close()
	}
	open = nil
	srv.Shutdown(context.Background())
	<-served
	h.untouched(t)
}

// Finding 8 of issue 13: a body that stops arriving is cut off at
// ReadTimeout and answered 408, so the sender knows to retry, not 400.
func TestStalledBody(t *testing.T) {
	defer leaktest.Check(t)()
	h := newHarness(t, ReceiverConfig{})
	fastTimeouts(h.r)
	url, done := serve(t, h.r)
	defer h.r.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	d := eventDelivery(t, vecID, eventBody)
	if _, err := io.WriteString(conn, requestHead(d, len(d.body))+string(d.body[:len(d.body)/2])); err != nil {
		t.Fatal(err)
	}
	resp := closedBy(t, conn)
	res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(resp)), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v (%q)", err, resp)
	}
	if res.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled body answered %d, want 408", res.StatusCode)
	}
	h.untouched(t)
	h.r.Shutdown(context.Background())
	<-done
}
