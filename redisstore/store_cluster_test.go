package redisstore

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/storetest"
	"github.com/redis/go-redis/v9"
)

// newCluster starts a Redis Cluster of three private masters and returns
// their addresses once every slot is served.
func newCluster(t *testing.T) []string {
	var addrs []string
	for range 3 {
		p := newPrivateServer(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000")
		addrs = append(addrs, p.addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx := context.Background()
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		deadline := time.Now().Add(20 * time.Second)
		for {
			info, _ := c.ClusterInfo(ctx).Result()
			if strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("cluster node %s: not ok: %s", a, info)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	return addrs
}

// The conformance suite on a Redis Cluster of three masters, through a
// ClusterClient: every script touches one slot, Pending reads the index
// shards on every node, hints cross nodes.
func TestCluster(t *testing.T) {
	addrs := newCluster(t)
	var n atomic.Int32
	storetest.Run(t, storetest.Harness{
		Open: func(t testing.TB, cfg storetest.Config) func() gemhook.Store {
			prefix := fmt.Sprintf("c%d", n.Add(1))
			return func() gemhook.Store {
				// Each replica names its connections, so that DropHints
				// finds its pub/sub ones on whichever node they are.
				name := fmt.Sprintf("gemhooktest-%d", n.Add(1))
				client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ClientName: name})
				s, err := New(client, Config{Prefix: prefix, DedupeTTL: cfg.DedupeTTL, OutcomeTTL: cfg.OutcomeTTL, EventTTL: cfg.EventTTL})
				if err != nil {
					t.Fatal(err)
				}
				s.own = true
				t.Cleanup(func() { s.Close() })
				return s
			}
		},
		DropHints: func(t testing.TB, s gemhook.Store) {
			name := s.(*Store).client.(*redis.ClusterClient).Options().ClientName
			killed := 0
			for _, a := range addrs {
				c := redis.NewClient(&redis.Options{Addr: a})
				list, err := c.ClientList(context.Background()).Result()
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
					if strings.Contains(line, " name="+name+" ") && !strings.Contains(line, " sub=0 ") {
						id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
						if err := c.Do(context.Background(), "client", "kill", "id", id).Err(); err != nil {
							t.Fatal(err)
						}
						killed++
					}
				}
				c.Close()
			}
			if killed == 0 {
				t.Fatalf("no pub/sub connection named %s", name)
			}
		},
		Break: func(t testing.TB, s gemhook.Store) { s.(*Store).client.Close() },
	})
}
