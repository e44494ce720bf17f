package pgstore

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/jackc/pgx/v5/pgxpool"
)

// benchStore opens a store on schema whose pool counts the writes it sends
// (each a round trip: every statement waits for its answer) into writes,
// with synchronous_commit as given.
func benchStore(b *testing.B, schema, syncCommit string, writes *atomic.Int64) *Store {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(dsn())
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = syncCommit
	if writes != nil {
		dial := cfg.ConnConfig.DialFunc
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			return countingConn{c, writes}, err
		}
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	s, err := New(context.Background(), pool, Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// BenchmarkHint measures a delivery on replica A until replica B's
// subscriber gets its hint: the commit, NOTIFY and the listening connection.
func BenchmarkHint(b *testing.B) {
	for _, sc := range []string{"on", "off"} {
		b.Run("synchronous_commit="+sc, func(b *testing.B) {
			schema := schemaFor(b)
			a := benchStore(b, schema, sc, nil)
			r := benchStore(b, schema, sc, nil)
			hints := listening(b, r)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			ev := gemhook.JobEvent{Type: "batch.succeeded", Terminal: true}
			b.ResetTimer()
			for i := range b.N {
				key := fmt.Sprintf("batches/%d", i)
				t0 := time.Now()
				if _, err := a.Deliver(ctx, key, "", ev); err != nil {
					b.Fatal(err)
				}
				for k := range hints {
					if k == key {
						break
					}
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			ms := func(q float64) float64 {
				return float64(lat[min(int(q*float64(len(lat))), len(lat)-1)]) / 1e6
			}
			b.ReportMetric(ms(0.50), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
		})
	}
}

// BenchmarkRoundTrips counts the round trips of each method (after the
// first call, which prepares its statement).
func BenchmarkRoundTrips(b *testing.B) {
	var writes atomic.Int64
	s := benchStore(b, schemaFor(b), "on", &writes)
	ctx := context.Background()
	ops := []struct {
		name string
		op   func(i int) error
	}{
		{"Deliver", func(i int) error {
			_, err := s.Deliver(ctx, fmt.Sprint("batches/", i), fmt.Sprint("msg_", i), gemhook.JobEvent{Type: "batch.succeeded", Terminal: true})
			return err
		}},
		{"Register", func(i int) error {
			_, err := s.Register(ctx, fmt.Sprint("batches/", i), gemhook.PendingJob{Name: fmt.Sprint("batches/", i), Kind: gemhook.KindBatch, Submitted: time.Now()})
			return err
		}},
		{"Lookup", func(i int) error {
			_, err := s.Lookup(ctx, fmt.Sprint("batches/", i))
			return err
		}},
		{"Settle", func(i int) error {
			_, err := s.Settle(ctx, fmt.Sprint("batches/", i), gemhook.Outcome{State: "JOB_STATE_SUCCEEDED"})
			return err
		}},
		{"Lease", func(i int) error {
			_, err := s.Lease(ctx, fmt.Sprint("batches/", i), "me", time.Minute)
			return err
		}},
	}
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			if err := o.op(-1); err != nil {
				b.Fatal(err)
			}
			writes.Store(0)
			b.ResetTimer()
			for i := range b.N {
				if err := o.op(i); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(writes.Load())/float64(b.N), "roundtrips/op")
		})
	}
}
