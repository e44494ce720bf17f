package hub

import (
	"sync"
	"sync/atomic"
	"testing"
)

type waiter struct{ n atomic.Int32 }

func (w *waiter) Wake(bool) { w.n.Add(1) }

func TestWakeReachesOnlyTheKeysWaiters(t *testing.T) {
	t.Parallel()
	h := New()
	a, b, c := &waiter{}, &waiter{}, &waiter{}
	h.Register("batches/1", a)
	h.Register("batches/1", b)
	h.Register("batches/2", c)
	h.Wake("batches/1")
	h.Wake("batches/nobody")
	if a.n.Load() != 1 || b.n.Load() != 1 || c.n.Load() != 0 {
		t.Fatalf("wakes = %d, %d, %d; want 1, 1, 0", a.n.Load(), b.n.Load(), c.n.Load())
	}
	h.WakeAll(false)
	if a.n.Load() != 2 || b.n.Load() != 2 || c.n.Load() != 1 {
		t.Fatalf("after WakeAll: %d, %d, %d; want 2, 2, 1", a.n.Load(), b.n.Load(), c.n.Load())
	}
}

func TestUnregisterForgetsTheKey(t *testing.T) {
	t.Parallel()
	h := New()
	a, b := &waiter{}, &waiter{}
	h.Register("k", a)
	h.Register("k", b)
	h.Unregister("k", a)
	h.Wake("k")
	if a.n.Load() != 0 || b.n.Load() != 1 {
		t.Fatalf("wakes = %d, %d; want 0, 1", a.n.Load(), b.n.Load())
	}
	h.Unregister("k", b)
	h.Unregister("k", b) // twice is harmless
	if h.Len() != 0 {
		t.Fatalf("Len = %d after every waiter left, want 0", h.Len())
	}
}

// A waiter may leave while another goroutine wakes its key; neither the
// race detector nor the map may complain.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	h := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &waiter{}
			for range 200 {
				h.Register("k", w)
				h.Wake("k")
				if i%2 == 0 {
					h.WakeAll(true)
				}
				h.Unregister("k", w)
			}
		}()
	}
	wg.Wait()
	if h.Len() != 0 {
		t.Fatalf("Len = %d, want 0", h.Len())
	}
}
