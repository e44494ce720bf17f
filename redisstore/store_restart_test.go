package redisstore

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/storetest"
	"github.com/redis/go-redis/v9"
)

// privateServer is a redis-server of the test's own on a free loopback
// port, without persistence, so that a test can restart it without
// disturbing anyone else's.
type privateServer struct {
	t    testing.TB
	port int
	args []string // more options
	cmd  *exec.Cmd
}

func newPrivateServer(t testing.TB, args ...string) *privateServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if inCI() {
			t.Fatalf("redis-server not found: %v", err)
		}
		t.Skipf("redis-server not found (%v): install Redis to run this test", err)
	}
	p := &privateServer{t: t, port: freePort(t), args: args}
	p.start(bin)
	t.Cleanup(p.stop)
	return p
}

// freePort returns a loopback port that was free a moment ago, low enough
// that the cluster bus port (+10000) exists too.
func freePort(t testing.TB) int {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port < 55000 {
			return port
		}
	}
	t.Fatal("no free port under 55000")
	return 0
}

func (p *privateServer) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

func (p *privateServer) start(bin string) {
	p.t.Helper()
	args := append([]string{"--port", fmt.Sprint(p.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.t.TempDir(), "--logfile", ""}, p.args...)
	p.cmd = exec.Command(bin, args...)
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: p.addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			p.t.Fatalf("private redis-server on %s did not answer", p.addr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *privateServer) stop() {
	if p.cmd != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		p.cmd = nil
	}
}

// restart kills the server, which forgets everything, and starts it again
// on the same port.
func (p *privateServer) restart() {
	p.t.Helper()
	bin := p.cmd.Path
	p.stop()
	p.start(bin)
}

// open returns a store on p over a client of its own, which Close closes.
func (p *privateServer) open(t testing.TB, cfg Config) *Store {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: p.addr()})
	s, err := New(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.own = true
	t.Cleanup(func() { s.Close() })
	return s
}

// After the server restarts, the subscription comes back by itself and
// resyncs, and calls work again.
func TestServerRestart(t *testing.T) {
	p := newPrivateServer(t)
	a, b := p.open(t, Config{}), p.open(t, Config{})
	l, stop := subscribe(a)
	defer stop()
	l.resynced(t)
	if n := l.lost.Load(); n != 0 {
		t.Fatalf("the first subscription reported %d losses", n)
	}
	ctx := context.Background()
	if _, err := b.Register(ctx, "batches/before", gemhook.PendingJob{Name: "batches/before"}); err != nil {
		t.Fatal(err)
	}
	p.restart()
	l.resynced(t)
	if n := l.lost.Load(); n != 1 {
		t.Fatalf("the resubscription after a restart reported %d losses, want 1: waiters would trust records the server forgot", n)
	}
	// b's pooled connection died with the server; go-redis retries on a
	// new one.
	if _, err := b.Deliver(ctx, "batches/after", "id:1", gemhook.JobEvent{Type: "batch.succeeded", Terminal: true}); err != nil {
		t.Fatalf("Deliver after the restart: %v", err)
	}
	l.hinted(t, "batches/after")
	if rec, err := a.Lookup(ctx, "batches/before"); err != nil || rec.Job != nil {
		t.Fatalf("a Redis without persistence kept %+v (%v)", rec, err)
	}
}

// The replicas' run with the Redis server restarted midway: registrations
// and parked events made before the restart are forgotten, and every
// future should still settle once.
func TestReplicasServerRestarted(t *testing.T) {
	p := newPrivateServer(t)
	h := storetest.Harness{Open: func(t testing.TB, cfg storetest.Config) func() gemhook.Store {
		return func() gemhook.Store {
			return p.open(t, Config{DedupeTTL: cfg.DedupeTTL, OutcomeTTL: cfg.OutcomeTTL, EventTTL: cfg.EventTTL})
		}
	}}
	storetest.RunReplicas(t, h, storetest.ReplicaOptions{
		Jobs:    500,
		Disrupt: func(testing.TB, gemhook.Store) { p.restart() },
	})
}
