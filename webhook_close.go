package gemhook

import "sync"

// closeHooks are what Receiver.Close runs besides stopping its own work:
// each Client on the Receiver registers one, so that it stops creating jobs
// that nothing here could hear about and settles its pending futures.
type closeHooks struct {
	mu     sync.Mutex
	closed bool
	fns    map[*closeHook]struct{}
}

type closeHook struct{ fn func() }

// add registers fn and returns the function that unregisters it. It
// reports false, registering nothing, once the hooks have run.
func (h *closeHooks) add(fn func()) (remove func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	if h.fns == nil {
		h.fns = make(map[*closeHook]struct{})
	}
	k := &closeHook{fn}
	h.fns[k] = struct{}{}
	return func() {
		h.mu.Lock()
		delete(h.fns, k)
		h.mu.Unlock()
	}, true
}

// run calls every registered function once, outside the lock: they may
// call their remove function.
func (h *closeHooks) run() {
	h.mu.Lock()
	h.closed = true
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	for k := range fns {
		k.fn()
	}
}
