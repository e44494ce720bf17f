package storetest_test

import (
	"testing"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/storetest"
)

// The in-memory store is shared by the replicas of one process: every
// replica the harness opens is the same MemoryStore.
func TestMemoryStore(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t testing.TB, cfg storetest.Config) func() gemhook.Store {
			s := gemhook.NewMemoryStore(gemhook.MemoryStoreConfig{
				DedupeTTL: cfg.DedupeTTL, OutcomeTTL: cfg.OutcomeTTL, EventTTL: cfg.EventTTL,
			})
			return func() gemhook.Store { return s }
		},
	})
}

func TestMemoryReplicas(t *testing.T) {
	s := gemhook.NewMemoryStore(gemhook.MemoryStoreConfig{})
	storetest.RunReplicas(t, storetest.Harness{
		Open: func(testing.TB, storetest.Config) func() gemhook.Store {
			return func() gemhook.Store { return s }
		},
	}, storetest.ReplicaOptions{})
}

func memoryHarness() storetest.Harness {
	s := gemhook.NewMemoryStore(gemhook.MemoryStoreConfig{})
	return storetest.Harness{Open: func(testing.TB, storetest.Config) func() gemhook.Store {
		return func() gemhook.Store { return s }
	}}
}

func BenchmarkMemoryDeliveryToWait(b *testing.B) {
	storetest.BenchmarkDeliveryToWait(b, memoryHarness())
}

func BenchmarkMemoryAbsorb(b *testing.B) {
	storetest.BenchmarkAbsorb(b, memoryHarness())
}
