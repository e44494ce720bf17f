package redisstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/storetest"
)

// BenchmarkDeliverToHint measures a Deliver on store A until store B's
// subscriber has the hint: the cross-replica part of a delivery's way to a
// waiter. It reports the median and 99th percentile.
func BenchmarkDeliverToHint(b *testing.B) {
	e := newEnv(b)
	a, r := e.open(b, Config{}), e.open(b, Config{})
	hints := make(chan string, 1)
	resyncs := make(chan struct{}, 1)
	stop := r.Subscribe(func(k string) { hints <- k }, func(bool) { resyncs <- struct{}{} })
	defer stop()
	<-resyncs
	ctx := context.Background()
	ev := gemhook.JobEvent{Type: "batch.succeeded", Terminal: true, Token: "0123456789abcdef"}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		key := fmt.Sprintf("batches/bench-%d", i)
		start := time.Now()
		if _, err := a.Deliver(ctx, key, "msg_"+key, ev); err != nil {
			b.Fatal(err)
		}
		for k := <-hints; k != key; k = <-hints {
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkRoundTrips reports the round trips each call costs (rt/op).
func BenchmarkRoundTrips(b *testing.B) {
	e := newEnv(b)
	s := e.open(b, Config{})
	trips := &trackedOf(b, s).trips
	ctx := context.Background()
	ev := gemhook.JobEvent{Type: "batch.succeeded", Terminal: true, Token: "0123456789abcdef"}
	job := gemhook.PendingJob{Kind: gemhook.KindBatch, Token: "0123456789abcdef", Submitted: time.Now(),
		Metadata: map[string]any{"tenant": "acme"}}
	for _, op := range []struct {
		name string
		do   func(key string) error
	}{
		{"Deliver", func(key string) error { _, err := s.Deliver(ctx, key, "msg_"+key, ev); return err }},
		{"Register", func(key string) error { _, err := s.Register(ctx, key, job); return err }},
		{"Settle", func(key string) error {
			_, err := s.Settle(ctx, key, gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"})
			return err
		}},
	} {
		b.Run(op.name, func(b *testing.B) {
			if err := op.do("batches/warm"); err != nil {
				b.Fatal(err)
			}
			before := trips.Load()
			b.ResetTimer()
			for i := range b.N {
				if err := op.do(fmt.Sprintf("batches/rt-%d", i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(trips.Load()-before)/float64(b.N), "rt/op")
		})
	}
}

// BenchmarkDeliveryToWait: a job waited for on replica B whose deliveries
// land on replica A, from its end at the emulator to B's Wait returning.
func BenchmarkDeliveryToWait(b *testing.B) {
	storetest.BenchmarkDeliveryToWait(b, harness)
}

// BenchmarkAbsorb: deliveries per second over HTTP by three replicas on
// one Redis, against one in-memory replica in the same run.
func BenchmarkAbsorb(b *testing.B) {
	storetest.BenchmarkAbsorb(b, harness)
}
