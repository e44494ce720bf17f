package pgstore

import (
	"testing"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/storetest"
)

// harness opens replicas that share a fresh schema, each with a pool of its
// own: DropHints kills the replica's listening backend on the server, Break
// closes its pool.
func harness() storetest.Harness {
	return storetest.Harness{
		Open: func(t testing.TB, cfg storetest.Config) func() gemhook.Store {
			schema := schemaFor(t)
			return func() gemhook.Store {
				return open(t, schema, Config{DedupeTTL: cfg.DedupeTTL, OutcomeTTL: cfg.OutcomeTTL, EventTTL: cfg.EventTTL})
			}
		},
		DropHints: func(t testing.TB, s gemhook.Store) { terminate(t, s.(*Store)) },
		Break:     func(t testing.TB, s gemhook.Store) { s.(*Store).pool.Close() },
	}
}

func TestConformance(t *testing.T) {
	server(t)
	storetest.Run(t, harness())
}

// Three replicas behind a round-robin balancer, 2,000 jobs, one replica
// replaced midway, and one replica's listening connection killed mid-run:
// nothing is lost.
func TestReplicas(t *testing.T) {
	server(t)
	storetest.RunReplicas(t, harness(), storetest.ReplicaOptions{
		Disrupt: func(t testing.TB, s gemhook.Store) { terminate(t, s.(*Store)) },
	})
}

func BenchmarkDeliveryToWait(b *testing.B) {
	server(b)
	storetest.BenchmarkDeliveryToWait(b, harness())
}

func BenchmarkAbsorb(b *testing.B) {
	server(b)
	storetest.BenchmarkAbsorb(b, harness())
}
