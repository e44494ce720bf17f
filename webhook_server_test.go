package gemhook

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/leaktest"
)

// serve starts the embedded server on a loopback port and returns its URL
// and a channel that yields Serve's error.
func serve(t *testing.T, r *Receiver) (string, <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(l) }()
	return "http://" + l.Addr().String(), done
}

// send posts d and returns the status, or 0 if the exchange failed. It
// may run outside the test goroutine.
func send(c *http.Client, url string, d delivery) int {
	req, err := http.NewRequest(http.MethodPost, url+"/hooks/gemini", bytes.NewReader(d.body))
	if err != nil {
		return 0
	}
	req.Header = d.hdr.Clone()
	res, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func noKeepAlive() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

// A signed delivery over loopback reaches OnEvent once; posting it again is
// acknowledged and reaches OnEvent no more.
func TestLoopbackDelivery(t *testing.T) {
	defer leaktest.Check(t)()
	var got atomic.Pointer[Event]
	h := newHarness(t, ReceiverConfig{OnEvent: func(_ context.Context, ev *Event) { got.Store(ev) }})
	url, done := serve(t, h.r)
	c := noKeepAlive()
	d := eventDelivery(t, vecID, eventBody)
	for i := range 2 {
		if code := send(c, url, d); code != http.StatusNoContent {
			t.Fatalf("attempt %d: status %d, want 204", i, code)
		}
	}
	h.acceptedOnce(t)
	ev := got.Load()
	if ev.ID != vecID || ev.Resource != "batches/abc" || ev.Endpoint != "/hooks/gemini" || ev.Scheme != "v1" {
		t.Fatalf("event %+v", ev)
	}
	if err := h.r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve returned %v, want http.ErrServerClosed", err)
	}
}

func TestServerLimitsSet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	srv := h.r.server()
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 ||
		srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Fatalf("server limits not all set: %+v", srv)
	}
	if srv.ReadTimeout <= srv.ReadHeaderTimeout {
		t.Fatal("ReadTimeout leaves no time for the body")
	}
}

// fastTimeouts shortens the embedded server's limits so that slow-client
// tests finish in a fraction of a second.
func fastTimeouts(r *Receiver) {
	r.timeouts = serverTimeouts{
		readHeader: 100 * time.Millisecond, read: 200 * time.Millisecond,
		write: time.Second, idle: time.Second, maxHeaderBytes: 8 << 10,
	}
}

// slowClient is a Receiver served with fastTimeouts and a raw connection
// to it, for tests of clients that write slowly; stop shuts both down.
func slowClient(t *testing.T) (h *harness, conn net.Conn, stop func()) {
	t.Helper()
	h = newHarness(t, ReceiverConfig{})
	fastTimeouts(h.r)
	url, done := serve(t, h.r)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return h, conn, func() {
		conn.Close()
		h.r.Shutdown(context.Background())
		<-done
	}
}

// trickle writes s one byte at a time until the server hangs up or s runs
// out, and reports whether the server hung up before the end.
func trickle(conn net.Conn, s string, gap time.Duration) (cut bool) {
	for i := 0; i < len(s); i++ {
		if _, err := conn.Write([]byte{s[i]}); err != nil {
			return true
		}
		time.Sleep(gap) // the slow client is the thing under test
	}
	return false
}

// closedBy reads what the server answers, if anything, and fails t unless
// the server closes the connection before the safety deadline.
func closedBy(t *testing.T, conn net.Conn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	all, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a slow connection open")
	}
	return string(all)
}

// H-b: headers trickled byte by byte are cut off at ReadHeaderTimeout.
func TestSlowHeaders(t *testing.T) {
	defer leaktest.Check(t)()
	h, conn, stop := slowClient(t)
	defer stop()
	hdr := "POST /hooks/gemini HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + strings.Repeat("X-Pad: y\r\n", 200)
	go trickle(conn, hdr, 5*time.Millisecond) // 2 s of headers at this pace
	if resp := closedBy(t, conn); strings.HasPrefix(resp, "HTTP/1.1 2") {
		t.Fatalf("slow headers were accepted: %q", resp)
	}
	h.untouched(t)
}

// H-c: a body trickled byte by byte is cut off at ReadTimeout and not
// acknowledged, so the sender retries.
func TestSlowBody(t *testing.T) {
	defer leaktest.Check(t)()
	h, conn, stop := slowClient(t)
	defer stop()
	d := eventDelivery(t, vecID, eventBody)
	if _, err := io.WriteString(conn, requestHead(d, len(d.body))); err != nil {
		t.Fatal(err)
	}
	go trickle(conn, string(d.body), 5*time.Millisecond) // ~0.7 s of body
	resp := closedBy(t, conn)
	if resp != "" {
		res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(resp)), nil)
		if err == nil && res.StatusCode/100 == 2 {
			t.Fatalf("slow body acknowledged with %d", res.StatusCode)
		}
	}
	h.untouched(t)
}

// requestHead is the request line and headers of d, declaring a body of
// length bytes, as a slow or hostile client writes them by hand.
func requestHead(d delivery, length int) string {
	var head strings.Builder
	head.WriteString("POST /hooks/gemini HTTP/1.1\r\nHost: x\r\n")
	d.hdr.Write(&head)
	head.WriteString("Content-Length: " + strconv.Itoa(length) + "\r\n\r\n")
	return head.String()
}

// H-j: Shutdown lets a delivery in flight finish with its answer, and
// refuses new ones.
func TestShutdownInFlight(t *testing.T) {
	defer leaktest.Check(t)()
	h := newHarness(t, ReceiverConfig{})
	entered, release := h.holdDispatch(nil)
	url, done := serve(t, h.r)
	c := noKeepAlive()
	d := eventDelivery(t, vecID, eventBody)
	inflight := make(chan int)
	go func() { inflight <- send(c, url, d) }()
	<-entered
	shut := make(chan error)
	go func() { shut <- h.r.Shutdown(context.Background()) }()
	// New connections are refused once the listener is closed.
	addr := strings.TrimPrefix(url, "http://")
	for {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		conn.Close()
		time.Sleep(time.Millisecond) // waiting for the Shutdown goroutine to close the listener
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v before the delivery in flight finished", err)
	default:
	}
	close(release)
	if code := <-inflight; code != http.StatusNoContent {
		t.Fatalf("in-flight delivery: status %d, want 204", code)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	<-done
	h.acceptedOnce(t)
	// Mounted elsewhere, the closed receiver answers 503.
	d2 := eventDelivery(t, "msg_after", eventBody)
	wantUnavailable(t, h.post(d2.hdr, d2.body))
}

// Shutdown whose context ends first still closes the Receiver.
func TestShutdownDeadline(t *testing.T) {
	defer leaktest.Check(t)()
	h := newHarness(t, ReceiverConfig{})
	entered, release := h.holdDispatch(nil)
	url, done := serve(t, h.r)
	inflight := make(chan int)
	go func() { inflight <- send(noKeepAlive(), url, eventDelivery(t, vecID, eventBody)) }()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.r.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v, want context.Canceled", err)
	}
	if !h.r.closed.Load() {
		t.Fatal("Receiver not closed")
	}
	close(release)
	<-inflight
	<-done
}

func TestServeAfterClose(t *testing.T) {
	defer leaktest.Check(t)()
	h := newHarness(t, ReceiverConfig{})
	h.r.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.r.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve after Close: %v", err)
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Fatal("listener left open")
	}
	if err := h.r.ListenAndServe("127.0.0.1:0"); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("ListenAndServe after Close: %v", err)
	}
}

// Close stops a running embedded server at once.
func TestCloseStopsServer(t *testing.T) {
	defer leaktest.Check(t)()
	h := newHarness(t, ReceiverConfig{})
	done := make(chan error, 1)
	go func() { done <- h.r.ListenAndServe("127.0.0.1:0") }()
	// Wait for ListenAndServe to get its server, then close.
	for {
		h.r.srvMu.Lock()
		up := h.r.srv != nil
		h.r.srvMu.Unlock()
		if up {
			break
		}
		time.Sleep(time.Millisecond)
	}
	h.r.Close()
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("ListenAndServe returned %v", err)
	}
}
