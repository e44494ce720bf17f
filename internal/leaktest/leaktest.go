// Package leaktest checks that a test leaves no goroutines behind.
package leaktest

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// Check records the goroutines running now and returns a function that, when
// called (usually deferred, after the code under test has been closed),
// fails t if goroutines started since are still running. Goroutines that are
// winding down get a grace period in which the check is repeated; the wait is
// on the runtime, not on a clock the test controls.
func Check(t testing.TB) func() {
	t.Helper()
	before := stacks()
	return func() {
		t.Helper()
		var extra []string
		for i := 0; i < 200; i++ {
			extra = extra[:0]
			for id, s := range stacks() {
				if _, ok := before[id]; !ok && !benign(s) {
					extra = append(extra, s)
				}
			}
			if len(extra) == 0 {
				return
			}
			runtime.Gosched()
			time.Sleep(10 * time.Millisecond)
		}
		t.Errorf("%d goroutine(s) leaked:\n%s", len(extra), strings.Join(extra, "\n\n"))
	}
}

// benign goroutines belong to the runtime or the testing package.
func benign(s string) bool {
	for _, f := range []string{
		"testing.(*T).Run", "testing.tRunner", "testing.(*M).", "runtime.goexit0",
		"os/signal.signal_recv", "runtime.ensureSigM", "created by runtime.gc",
		"runtime.MHeap_Scavenger", "testing.runFuzzing", "testing.(*F).Fuzz",
	} {
		if strings.Contains(s, f) && !strings.Contains(s, "gemhook") {
			return true
		}
	}
	return false
}

func stacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		// "goroutine 12 [running]:"
		f := strings.Fields(head)
		if len(f) < 2 || f[0] != "goroutine" {
			continue
		}
		out[f[1]] = g
	}
	return out
}
