package gemhook

import (
	"context"
	"sync"
)

// checker does one get of its job and settles or reschedules it.
type checker interface {
	check(ctx context.Context)
}

// workers runs checks with bounded concurrency. Goroutines are started on
// demand and exit when the queue is empty, so an idle Client has none, and
// push never blocks: the queue holds at most one entry per pending job.
type workers struct {
	mu     sync.Mutex
	queue  []checker
	head   int
	max    int
	active int
	closed bool
	ctx    context.Context // for the calls checks make; cancelled by close
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

func (w *workers) init(max int) {
	w.max = max
	w.ctx, w.stop = context.WithCancel(context.Background())
}

// push queues x; it reports false once the workers are closed.
func (w *workers) push(x checker) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	if w.head > 64 && w.head*2 >= len(w.queue) {
		n := copy(w.queue, w.queue[w.head:])
		clear(w.queue[n:])
		w.queue, w.head = w.queue[:n], 0
	}
	w.queue = append(w.queue, x)
	if w.active < w.max {
		w.active++
		w.wg.Add(1)
		go w.run()
	}
	return true
}

func (w *workers) run() {
	defer w.wg.Done()
	w.mu.Lock()
	for !w.closed && w.head < len(w.queue) {
		x := w.queue[w.head]
		w.queue[w.head] = nil
		w.head++
		if w.head == len(w.queue) {
			w.queue, w.head = w.queue[:0], 0
		}
		w.mu.Unlock()
		x.check(w.ctx)
		w.mu.Lock()
	}
	w.active--
	w.mu.Unlock()
}

// close cancels calls in flight, drops the queue and waits for the
// goroutines to exit.
func (w *workers) close() {
	w.mu.Lock()
	w.closed = true
	w.stop()
	clear(w.queue)
	w.queue, w.head = nil, 0
	w.mu.Unlock()
	w.wg.Wait()
}
