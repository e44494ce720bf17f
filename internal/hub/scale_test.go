package hub

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkTombstonesForADay settles a day of 1,000,000 jobs (one every
// 86.4 ms of a fake clock), each registered and then settled, and reports
// the heap the tombstones take (their keys, which nothing else holds by
// then, included) and the bytes per tombstone, once with room for the whole
// day and once with the default cap. A day must fit in 192 MiB. Run:
//
//	go test -run '^$' -bench TombstonesForADay -benchtime 1x ./internal/hub/
func BenchmarkTombstonesForADay(b *testing.B) {
	const jobs = 1_000_000
	const every = 24 * time.Hour / jobs
	for _, c := range []struct {
		name string
		max  int
	}{{"room-for-a-day", jobs}, {"default-cap", 0}} {
		b.Run(c.name, func(b *testing.B) {
			var bytes float64
			var kept int
			for range b.N {
				h, clock := newTestHub(Config{MaxTombstones: c.max})
				var w waiter
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for i := range jobs {
					key := fmt.Sprintf("batches/%024d", i)
					h.Register(key, &w)
					h.Settle(key, &w, "succeeded")
					clock.Advance(every)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				kept = h.Stats().Tombstones
				bytes = float64(after.HeapAlloc) - float64(before.HeapAlloc)
				runtime.KeepAlive(h)
			}
			b.ReportMetric(float64(kept), "tombstones")
			b.ReportMetric(bytes/(1<<20), "MiB")
			b.ReportMetric(bytes/float64(kept), "B/tombstone")
			b.ReportMetric(float64(kept)*every.Hours(), "hours-remembered")
			if c.max == jobs && bytes > 192<<20 {
				b.Errorf("a day of tombstones takes %.0f MiB", bytes/(1<<20))
			}
		})
	}
}
