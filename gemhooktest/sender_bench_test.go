package gemhooktest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDelivery measures one signed v1 delivery from Server.Redeliver
// to the receiver's handler; BenchmarkBarePost is the same POST sent with a
// plain http.Client, the floor it is compared with.
func BenchmarkDelivery(b *testing.B) {
	got := make(chan struct{}, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		got <- struct{}{}
	}))
	defer rc.Close()
	s := NewServer(Options{JobDuration: -1, Workers: 1})
	defer s.Close()
	s.RegisterWebhook(rc.URL)
	s.mu.Lock()
	j := &job{kind: kindBatch, name: "batches/bench", model: "models/m", outputFile: "files/out"}
	_ = s.addJobLocked(j)
	s.endLocked(j, Succeeded, "", false)
	s.mu.Unlock()
	<-got
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Redeliver(j.name); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}

func BenchmarkBarePost(b *testing.B) {
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	body := []byte(`{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-01T00:00:00Z","data":{"id":"batches/bench","output_file_uri":"files/out"}}`)
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Post(rc.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}
