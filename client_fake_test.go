package gemhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genai"
)

// fakeBatches is a minimal Gemini batches API for unit tests that need
// exact control over what each get returns. End-to-end tests use
// gemhooktest instead.
type fakeBatches struct {
	srv *httptest.Server

	mu       sync.Mutex
	states   map[string]string // batches/x -> BATCH_STATE_*
	gets     map[string]int
	creates  int
	lastBody map[string]any
	next     int
	listings int               // webhook listings, each refused with a 422: not retried by genai, not permanent here
	onCreate func(name string) // runs before Create answers
}

func newFakeBatches(t testing.TB) *fakeBatches {
	f := &fakeBatches{states: map[string]string{}, gets: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBatches) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	path := strings.TrimPrefix(r.URL.Path, "/v1beta/")
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(path, ":batchGenerateContent"):
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		f.mu.Lock()
		f.next++
		f.creates++
		name := fmt.Sprintf("batches/b%d", f.next)
		f.states[name] = "BATCH_STATE_PENDING"
		f.lastBody = m
		hook := f.onCreate
		f.mu.Unlock()
		if hook != nil {
			hook(name)
		}
		f.write(w, name)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "batches/"):
		f.mu.Lock()
		_, ok := f.states[path]
		f.gets[path]++
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"code":404,"message":"not found","status":"NOT_FOUND"}}`)
			return
		}
		f.write(w, path)
	case r.Method == http.MethodGet && path == "webhooks":
		f.mu.Lock()
		f.listings++
		f.mu.Unlock()
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"error":{"code":422,"message":"fake","status":"FAILED_PRECONDITION"}}`)
	default:
		w.WriteHeader(http.StatusNotImplemented)
		fmt.Fprint(w, `{"error":{"code":501,"message":"fake","status":"UNIMPLEMENTED"}}`)
	}
}

func (f *fakeBatches) write(w http.ResponseWriter, name string) {
	f.mu.Lock()
	st := f.states[name]
	f.mu.Unlock()
	fmt.Fprintf(w, `{"name":%q,"metadata":{"state":%q,"model":"models/m"}}`, name, st)
}

func (f *fakeBatches) set(name, state string) {
	f.mu.Lock()
	f.states[name] = state
	f.mu.Unlock()
}

func (f *fakeBatches) getCount(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets[name]
}

func (f *fakeBatches) genai(t testing.TB) *genai.Client {
	t.Helper()
	gc, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      "test-key",
		Backend:     genai.BackendGeminiAPI,
		HTTPClient:  f.srv.Client(),
		HTTPOptions: genai.HTTPOptions{BaseURL: f.srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

// recvStats is what tests read of a Receiver's own store and hub.
type recvStats struct {
	Waiting, Orphans, Tombstones int
}

func statsOf(r *Receiver) recvStats {
	m := r.memory.stats()
	return recvStats{Waiting: r.hub.Len(), Orphans: m.Orphans, Tombstones: m.Outcomes}
}

// drain waits until no check is queued or running: every wake that has
// been pushed has been handled.
func (w *workers) drain() {
	for {
		w.mu.Lock()
		idle := w.active == 0 && w.head == len(w.queue)
		w.mu.Unlock()
		if idle {
			return
		}
		runtime.Gosched()
	}
}
