package gemhook

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// observation is what the Receiver saw of one delivery: the verified event,
// or why it was rejected. Watchers only read it.
type observation struct {
	header http.Header
	body   []byte
	ev     *Event
	err    error
}

// watchers are the read-only observers of one Receiver's deliveries, for
// PingWebhook. With none registered, observing costs one atomic load.
type watchers struct {
	n   atomic.Int32 // open watches; read without the lock on every delivery
	mu  sync.Mutex
	set map[*deliveryWatch]struct{}
}

type deliveryWatch struct {
	ws      *watchers
	ch      chan observation
	dropped atomic.Int64
}

// watchBuffer bounds what one watch holds; beyond it observations are
// counted and dropped rather than slowing deliveries down.
const watchBuffer = 64

func (ws *watchers) watch() *deliveryWatch {
	w := &deliveryWatch{ws: ws, ch: make(chan observation, watchBuffer)}
	ws.mu.Lock()
	if ws.set == nil {
		ws.set = make(map[*deliveryWatch]struct{})
	}
	ws.set[w] = struct{}{}
	ws.n.Add(1)
	ws.mu.Unlock()
	return w
}

func (w *deliveryWatch) stop() {
	w.ws.mu.Lock()
	if _, ok := w.ws.set[w]; ok {
		delete(w.ws.set, w)
		w.ws.n.Add(-1)
	}
	w.ws.mu.Unlock()
}

// observe shows one delivery, verified or not, to every open watch. ServeHTTP
// calls it right after Verify; with no watch open it costs one atomic load.
func (ws *watchers) observe(h http.Header, body []byte, ev *Event, err error) {
	if ws.n.Load() == 0 {
		return
	}
	o := observation{header: h.Clone(), body: body, ev: ev, err: err}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for w := range ws.set {
		select {
		case w.ch <- o:
		default:
			w.dropped.Add(1)
		}
	}
}
