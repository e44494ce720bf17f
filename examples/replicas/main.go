// Command replicas runs three replicas of one service in one process,
// behind a round-robin balancer that, like a real one, ignores which
// replica waits for which job. Each replica is a Receiver and a Client
// over a Store of its own connection; the Store is what lets a delivery
// that lands on one replica settle a future that waits on another.
//
// The Store is PostgreSQL when GEMHOOK_POSTGRES_URL is set, Redis when
// GEMHOOK_REDIS_URL is set, and otherwise one in-memory store shared by
// the three (which only works because they share a process: a warning
// says so). It runs offline against the emulator:
//
//	GEMHOOK_REDIS_URL=redis://127.0.0.1:6379/0 go run .
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/pgstore"
	"github.com/gemhook/gemhook/redisstore"
)

const jobs = 9

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// replica is one process of the service, as far as gemhook is concerned.
type replica struct {
	name  string
	store gemhook.Store
	recv  *gemhook.Receiver
	cli   *gemhook.Client
}

func run(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	open, kind, err := storeOpener(ctx, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "store: %s\n", kind)

	// Gemini, emulated: every delivery is sent twice, as at-least-once
	// delivery may.
	emu := gemhooktest.NewServer(gemhooktest.Options{
		JobDuration: 300 * time.Millisecond,
		Faults:      gemhooktest.Faults{Duplicates: 1},
	})
	defer emu.Close()

	var mu sync.Mutex
	landed := map[string][]string{} // job -> replicas its deliveries were taken by

	var replicas []*replica
	var next atomic.Uint64
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp := replicas[next.Add(1)%uint64(len(replicas))]
		rp.recv.ServeHTTP(w, r)
	}))
	defer lb.Close()
	secret := emu.RegisterWebhook(lb.URL + "/gemini")

	for _, name := range []string{"A", "B", "C"} {
		st, err := open()
		if err != nil {
			return err
		}
		rp := &replica{name: name, store: st}
		rp.recv, err = gemhook.NewReceiver(gemhook.ReceiverConfig{
			Secrets: []string{secret},
			Store:   st,
			// OnEvent runs once per event across the whole service: a
			// duplicate taken by another replica is acknowledged there.
			OnEvent: func(_ context.Context, ev *gemhook.Event) {
				mu.Lock()
				landed[ev.Resource] = append(landed[ev.Resource], name)
				mu.Unlock()
			},
		})
		if err != nil {
			return err
		}
		gc, err := genai.NewClient(ctx, emu.ClientConfig())
		if err != nil {
			return err
		}
		rp.cli, err = gemhook.New(gemhook.Config{
			GenAI: gc, Receiver: rp.recv,
			// Only the Store can settle these jobs in time: the safety
			// net's first poll is an hour away.
			Fallback: gemhook.Fallback{After: time.Hour},
		})
		if err != nil {
			return err
		}
		replicas = append(replicas, rp)
	}
	defer func() {
		for _, rp := range replicas {
			rp.cli.Close()
			rp.recv.Close()
			if c, ok := rp.store.(io.Closer); ok {
				c.Close()
			}
		}
	}()

	type result struct {
		job, waiter, state string
		took               time.Duration
	}
	results := make(chan result, jobs)
	var wg sync.WaitGroup
	src := &genai.BatchJobSource{FileName: "files/requests.jsonl"}
	for i := range jobs {
		rp := replicas[i%len(replicas)]
		f := rp.cli.SubmitBatch(ctx, "gemini-3.5-flash", src, nil)
		if f.Name() == "" {
			_, err := f.Wait(ctx)
			return fmt.Errorf("replica %s: submit: %w", rp.name, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			job, err := f.Wait(ctx)
			state := ""
			if job != nil {
				state = string(job.State)
			}
			if err != nil {
				state += " (" + err.Error() + ")"
			}
			results <- result{f.Name(), rp.name, state, time.Since(t0)}
		}()
	}
	wg.Wait()
	close(results)

	var all []result
	for r := range results {
		all = append(all, r)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].job < all[j].job })
	fmt.Fprintln(out, "job                               delivery taken by  future settled on  as")
	elsewhere := 0
	for _, r := range all {
		mu.Lock()
		by := landed[r.job]
		mu.Unlock()
		fmt.Fprintf(out, "%-33s %-18s %-18s %s after %v\n", r.job, strings.Join(by, ","), r.waiter, r.state, r.took.Round(time.Millisecond))
		if len(by) == 1 && by[0] != r.waiter {
			elsewhere++
		}
	}
	fmt.Fprintf(out, "%d of %d jobs were delivered to a replica other than the one waiting, and settled by webhook all the same;\n", elsewhere, len(all))
	fmt.Fprintf(out, "API calls: %v\n", emu.Calls())
	return nil
}

// storeOpener picks the Store from the environment; each call of open is
// one replica's connection to it.
func storeOpener(ctx context.Context, out io.Writer) (open func() (gemhook.Store, error), kind string, err error) {
	if url := os.Getenv("GEMHOOK_POSTGRES_URL"); url != "" {
		return func() (gemhook.Store, error) { return pgstore.Open(ctx, url) }, "PostgreSQL", nil
	}
	if url := os.Getenv("GEMHOOK_REDIS_URL"); url != "" {
		return func() (gemhook.Store, error) { return redisstore.Open(ctx, url) }, "Redis", nil
	}
	slog.New(slog.NewTextHandler(out, nil)).Warn("neither GEMHOOK_POSTGRES_URL nor GEMHOOK_REDIS_URL is set: " +
		"the replicas share one in-memory store, which only works inside one process")
	mem := gemhook.NewMemoryStore(gemhook.MemoryStoreConfig{})
	return func() (gemhook.Store, error) { return mem, nil }, "in memory", nil
}
