package gemhooktest

import (
	"sync"
	"time"
)

// Result says how a delivery attempt (or an event that was never
// attempted) ended.
type Result string

const (
	Delivered Result = "delivered" // answered 2xx
	Retrying  Result = "retrying"  // failed; another attempt is queued
	GaveUp    Result = "gave_up"   // failed, and the retry horizon is spent
	Dropped   Result = "dropped"   // never sent: Faults.DropRate, or the queue was full
	Abandoned Result = "abandoned" // not sent: its webhook was deleted or disabled, or the server closed
)

// Delivery is one entry of the delivery log.
type Delivery struct {
	Seq       int64         // order in which attempts started, from 1
	MessageID string        // webhook-id; the same on every attempt and copy of one message
	Type      string        // event type, e.g. "batch.succeeded" or "webhook.ping"
	Resource  string        // job resource name, or webhook id for a ping
	URL       string        // where it was sent
	WebhookID string        // the project webhook it was sent to; "" for per-request URIs
	Scheme    string        // "v1", "v1a" or "jws"
	Copy      int           // 0 for the original, 1.. for Faults.Duplicates copies
	Attempt   int           // 1 for the first attempt; 0 when never attempted
	Early     bool          // sent before the create call answered (Faults.EarlyRate)
	Status    int           // HTTP status; 0 when there was no answer
	Err       string        // transport error or the reason it was not sent
	Result    Result        // what came of it
	Start     time.Time     // when the attempt started (Options.Now)
	Duration  time.Duration // how long the attempt took (real time)
}

// deliveryLog is a ring of the most recent Deliveries.
type deliveryLog struct {
	mu   sync.Mutex
	seq  int64
	ring []Delivery
	next int
	full bool
}

func newDeliveryLog(size int) *deliveryLog { return &deliveryLog{ring: make([]Delivery, size)} }

func (l *deliveryLog) add(d Delivery) Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	d.Seq = l.seq
	l.ring[l.next] = d
	l.next++
	if l.next == len(l.ring) {
		l.next, l.full = 0, true
	}
	return d
}

func (l *deliveryLog) all() []Delivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]Delivery(nil), l.ring[:l.next]...)
	}
	out := make([]Delivery, 0, len(l.ring))
	out = append(out, l.ring[l.next:]...)
	return append(out, l.ring[:l.next]...)
}

// Deliveries returns the delivery log, oldest first: every attempt, and
// every event that was dropped or abandoned. It holds the last
// Options.LogSize entries.
func (s *Server) Deliveries() []Delivery { return s.log.all() }

// Calls counts the API calls a Server answered, by operation: "batches.create",
// "batches.get", "batches.list", "batches.cancel", "batches.delete",
// "videos.create", "operations.get", "interactions.create",
// "interactions.get", "interactions.cancel", "interactions.delete",
// "webhooks.create", "webhooks.list", "webhooks.get", "webhooks.update",
// "webhooks.delete", "webhooks.ping", "webhooks.rotate", "files.download",
// and "unknown" for requests that matched no route. Calls refused for a bad
// API key or bad input are counted too: Gemini would have seen them.
type Calls map[string]int

// Total is the number of API calls of every operation.
func (c Calls) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Calls returns a snapshot of the API call counters.
func (s *Server) Calls() Calls {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(Calls, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}
