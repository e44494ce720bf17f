package dedupe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook/internal/fakeclock"
)

func newClock() *fakeclock.Clock { return fakeclock.New(time.Unix(1_700_000_000, 0)) }

func TestClaimFinishRemembers(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	c, first := s.Claim("a")
	if !first {
		t.Fatal("first Claim of a fresh id is not first")
	}
	if _, again := s.Claim("a"); again {
		t.Fatal("second Claim while in flight is first")
	}
	s.Finish("a", c, nil)
	c2, first := s.Claim("a")
	if first {
		t.Fatal("Claim of a handled id is first")
	}
	if err := c2.Wait(context.Background()); err != nil {
		t.Fatalf("Wait on a handled id: %v", err)
	}
}

func TestFailureReleases(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	c, _ := s.Claim("a")
	w, _ := s.Claim("a")
	boom := errors.New("boom")
	s.Finish("a", c, boom)
	if err := w.Wait(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("waiter got %v, want %v", err, boom)
	}
	if s.Len() != 0 {
		t.Fatalf("Len after a failure = %d, want 0", s.Len())
	}
	c, first := s.Claim("a")
	if !first {
		t.Fatal("retry after a failure is not first")
	}
	s.Finish("a", c, nil)
}

func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	c, _ := s.Claim("a")
	w, _ := s.Claim("a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled ctx = %v", err)
	}
	s.Finish("a", c, nil)
}

func TestTTL(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := New(Config{TTL: time.Minute, Now: clk.Now})
	c, _ := s.Claim("a")
	s.Finish("a", c, nil)
	clk.Advance(time.Minute - time.Second)
	if _, first := s.Claim("a"); first {
		t.Fatal("forgotten before the TTL")
	}
	clk.Advance(time.Second)
	c, first := s.Claim("a")
	if !first {
		t.Fatal("remembered past the TTL")
	}
	s.Finish("a", c, nil)
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
}

func TestSizeCap(t *testing.T) {
	t.Parallel()
	const size = 100
	s := New(Config{Size: size})
	for i := range 10 * size {
		id := fmt.Sprint(i)
		c, first := s.Claim(id)
		if !first {
			t.Fatalf("%s not first", id)
		}
		s.Finish(id, c, nil)
		if s.Len() > size {
			t.Fatalf("Len = %d over the cap %d", s.Len(), size)
		}
	}
	// The newest are remembered, the oldest forgotten.
	if _, first := s.Claim(fmt.Sprint(10*size - 1)); first {
		t.Fatal("newest id forgotten")
	}
	c, first := s.Claim("0")
	if !first {
		t.Fatal("oldest id still remembered past the cap")
	}
	s.Finish("0", c, nil)
}

// An id whose entry expired behind a younger one (the clock went back) is
// claimable, and keeps its new entry when its old ring slot is evicted.
func TestReclaimAfterExpiry(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := New(Config{TTL: time.Minute, Size: 3, Now: clk.Now})
	finish := func(id string) {
		t.Helper()
		c, first := s.Claim(id)
		if !first {
			t.Fatalf("%s not first", id)
		}
		s.Finish(id, c, nil)
	}
	clk.Advance(time.Hour)
	finish("b") // expires at +1h1m
	clk.Advance(-time.Hour)
	finish("a") // expires at +1m, behind b in the ring
	clk.Advance(2 * time.Minute)
	finish("a") // a's old slot is still in the ring
	finish("c") // the ring is full: evicts b
	finish("d") // evicts a's old slot; the new a stays
	if _, first := s.Claim("a"); first {
		t.Fatal("reclaimed id forgotten when its old slot was evicted")
	}
}

func TestConcurrentClaimsOneWinner(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	var winners, waited atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			c, first := s.Claim("x")
			if first {
				winners.Add(1)
				s.Finish("x", c, nil)
				return
			}
			if err := c.Wait(context.Background()); err != nil {
				t.Error(err)
			}
			waited.Add(1)
		})
	}
	close(start)
	wg.Wait()
	if winners.Load() != 1 || waited.Load() != 49 {
		t.Fatalf("winners %d, waited %d", winners.Load(), waited.Load())
	}
}

func TestFinishWithoutClaimPanics(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	s.Finish("a", &Call{done: make(chan struct{})}, nil)
}
