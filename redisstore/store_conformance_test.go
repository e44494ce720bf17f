package redisstore

import (
	"testing"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/storetest"
)

// harness opens replicas on one random key prefix per Open. Each replica
// has a client of its own, which it closes on Close as one from Open does;
// DropHints kills that client's pub/sub connections on the server by id,
// Break closes the client.
var harness = storetest.Harness{
	Open: func(t testing.TB, cfg storetest.Config) func() gemhook.Store {
		env := newEnv(t)
		return func() gemhook.Store {
			s := env.open(t, Config{DedupeTTL: cfg.DedupeTTL, OutcomeTTL: cfg.OutcomeTTL, EventTTL: cfg.EventTTL})
			s.own = true
			return s
		}
	},
	DropHints: func(t testing.TB, s gemhook.Store) { dropHints(t, s.(*Store)) },
	Break: func(t testing.TB, s gemhook.Store) {
		if err := trackedOf(t, s.(*Store)).client.Close(); err != nil {
			t.Fatal(err)
		}
	},
}

func TestConformance(t *testing.T) {
	storetest.Run(t, harness)
}

// Three replicas behind a round-robin balancer on one emulated Gemini, one
// replaced midway: every future settles once, at about two API calls a job.
func TestReplicas(t *testing.T) {
	storetest.RunReplicas(t, harness, storetest.ReplicaOptions{})
}

// The same run with one replica's every connection killed on the server
// midway (its pub/sub and its pool): nothing is lost.
func TestReplicasConnectionsKilled(t *testing.T) {
	storetest.RunReplicas(t, harness, storetest.ReplicaOptions{
		Jobs:    500,
		Disrupt: func(t testing.TB, s gemhook.Store) { killConnections(t, s.(*Store), false) },
	})
}
