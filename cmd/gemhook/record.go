package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// recordedHeaders are the only headers a fixture keeps: those a verifier
// reads, and the sender's name. Whatever else arrived (cookies, tokens a
// proxy added) is never written.
var recordedHeaders = []string{"Content-Type", "User-Agent", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}

// errRecordFull: -record-max fixtures have been written.
var errRecordFull = errors.New("-record-max fixtures written; not recording more")

// recorder writes each delivery the listener sees as a fixture file: an
// HTTP request, as `gemhook verify -file` reads it. The query string is
// left out (it may hold a token) and the host is a placeholder.
type recorder struct {
	dir string
	max int

	mu sync.Mutex
	n  int
}

func newRecorder(dir string, max int) (*recorder, error) {
	if max <= 0 {
		return nil, usagef("-record-max %d: want at least 1", max)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &recorder{dir: dir, max: max}, nil
}

// write stores one delivery and returns the file's path.
func (r *recorder) write(req *http.Request, body []byte, d delivery) (string, error) {
	r.mu.Lock()
	if r.n >= r.max {
		r.mu.Unlock()
		return "", errRecordFull
	}
	r.n++
	n := r.n
	r.mu.Unlock()

	label := "rejected"
	if d.Verified {
		label = fileSafe(d.Type) + "-" + fileSafe(d.Scheme)
	}
	name := fmt.Sprintf("%s-%04d-%s.http", d.Time.UTC().Format("20060102T150405Z"), n, label)
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: receiver.invalid\r\n", fileSafePath(req.URL.EscapedPath()))
	for _, h := range recordedHeaders {
		for _, v := range req.Header.Values(h) {
			fmt.Fprintf(&b, "%s: %s\r\n", h, v)
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	path := filepath.Join(r.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// fileSafe keeps the characters of an event type or scheme that are safe in
// a file name; the rest become '_'.
func fileSafe(s string) string {
	if s == "" {
		return "none"
	}
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// fileSafePath keeps a request line parseable whatever path arrived.
func fileSafePath(p string) string {
	if p == "" || strings.ContainsAny(p, " \r\n") {
		return "/"
	}
	return p
}
