package storetest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genai"

	"github.com/gemhook/gemhook"
	"github.com/gemhook/gemhook/gemhooktest"
	"github.com/gemhook/gemhook/internal/signature"
)

// Counting wraps a Store and counts its calls: each is one round trip to
// the backend or more (a transaction), so the counts are a floor.
type Counting struct {
	gemhook.Store
	Delivers, Registers, Lookups, Settles, Leases, Releases atomic.Int64
}

func (c *Counting) Deliver(ctx context.Context, key, id string, ev gemhook.JobEvent) (bool, error) {
	c.Delivers.Add(1)
	return c.Store.Deliver(ctx, key, id, ev)
}

func (c *Counting) Register(ctx context.Context, key string, job gemhook.PendingJob) (gemhook.JobRecord, error) {
	c.Registers.Add(1)
	return c.Store.Register(ctx, key, job)
}

func (c *Counting) Lookup(ctx context.Context, key string) (gemhook.JobRecord, error) {
	c.Lookups.Add(1)
	return c.Store.Lookup(ctx, key)
}

func (c *Counting) Settle(ctx context.Context, key string, o gemhook.Outcome) (gemhook.Outcome, error) {
	c.Settles.Add(1)
	return c.Store.Settle(ctx, key, o)
}

func (c *Counting) Lease(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	c.Leases.Add(1)
	return c.Store.Lease(ctx, key, owner, ttl)
}

func (c *Counting) Release(ctx context.Context, key, owner string) error {
	c.Releases.Add(1)
	return c.Store.Release(ctx, key, owner)
}

// Calls is the total of every count.
func (c *Counting) Calls() int64 {
	return c.Delivers.Load() + c.Registers.Load() + c.Lookups.Load() + c.Settles.Load() + c.Leases.Load() + c.Releases.Load()
}

// BenchmarkDeliveryToWait measures a job waited for on replica B whose
// every delivery lands on replica A: from the job's end at the emulated
// Gemini to B's Wait returning (A verifies and writes the event, the
// Store hints B, B reads it, takes the lease, confirms with one get and
// records the outcome). It reports p50 and p99, and the Store calls each
// job costs on both replicas.
func BenchmarkDeliveryToWait(b *testing.B, h Harness) {
	open := h.Open(b, Config{})
	emu := gemhooktest.NewServer(gemhooktest.Options{JobDuration: -1, MaxJobs: b.N + 16})
	defer emu.Close()
	sa, sb := &Counting{Store: open()}, &Counting{Store: open()}
	ra := mustReceiver(b, gemhook.ReceiverConfig{Store: sa})
	defer ra.Close()
	srv := httptest.NewServer(ra)
	defer srv.Close()
	secret := emu.RegisterWebhook(srv.URL + "/hook")
	if err := ra.AddSecret(secret); err != nil {
		b.Fatal(err)
	}
	rb := mustReceiver(b, gemhook.ReceiverConfig{Store: sb})
	defer rb.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cc := emu.ClientConfig()
	cc.HTTPClient = &http.Client{Transport: tr}
	gc, err := genai.NewClient(context.Background(), cc)
	if err != nil {
		b.Fatal(err)
	}
	cb, err := gemhook.New(gemhook.Config{GenAI: gc, Receiver: rb, Fallback: gemhook.Fallback{After: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	defer cb.Close()

	ctx := context.Background()
	src := &genai.BatchJobSource{FileName: "files/in"}
	lat := make([]time.Duration, 0, b.N)
	var calls int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		f := cb.SubmitBatch(ctx, "gemini-test", src, nil)
		if f.Name() == "" {
			_, err := f.Wait(ctx)
			b.Fatal(err)
		}
		before := sa.Calls() + sb.Calls()
		b.StartTimer()
		t0 := time.Now()
		if err := emu.Finish(f.Name(), gemhooktest.Succeeded); err != nil {
			b.Fatal(err)
		}
		if _, err := f.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		calls += sa.Calls() + sb.Calls() - before
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64(calls)/float64(b.N), "store-calls/job")
}

// BenchmarkAbsorb measures deliveries per second taken over loopback HTTP
// by three replicas that share h's store, each delivery a terminal event
// for a job that is pending, and in the same run by one replica on a
// MemoryStore of its own. It reports both rates and their ratio.
func BenchmarkAbsorb(b *testing.B, h Harness) {
	open := h.Open(b, Config{})
	shared := []gemhook.Store{open(), open(), open()}
	n := max(b.N, 2000)
	b.ResetTimer()
	b.StopTimer()
	mem := absorb(b, []gemhook.Store{gemhook.NewMemoryStore(gemhook.MemoryStoreConfig{})}, n, "mem")
	b.StartTimer()
	got := absorb(b, shared, n, "shared")
	b.StopTimer()
	b.ReportMetric(got, "deliveries/s")
	b.ReportMetric(mem, "memory-deliveries/s")
	b.ReportMetric(got/mem, "ratio")
}

// absorb posts n signed deliveries to the replicas over stores, round
// robin, from 32 senders, and returns deliveries per second.
func absorb(b *testing.B, stores []gemhook.Store, n int, tag string) float64 {
	key := []byte("0123456789abcdef0123456789abcdef")
	secret := signature.EncodeSecret(key)
	ctx := context.Background()
	var srvs []*httptest.Server
	for _, st := range stores {
		r := mustReceiver(b, gemhook.ReceiverConfig{Store: st, Secrets: []string{secret}})
		srvs = append(srvs, httptest.NewServer(r))
		defer r.Close()
	}
	defer func() {
		for _, s := range srvs {
			s.Close()
		}
	}()
	type post struct {
		url  string
		body []byte
		hdr  http.Header
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	posts := make([]post, n)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for i := range posts {
		name := "batches/" + tag + run + "-" + strconv.Itoa(i)
		if _, err := stores[i%len(stores)].Register(ctx, name, gemhook.PendingJob{Name: name, Kind: gemhook.KindBatch, Submitted: time.Now()}); err != nil {
			b.Fatal(err)
		}
		id := "msg_" + tag + run + strconv.Itoa(i)
		body := fmt.Appendf(nil, `{"type":"batch.succeeded","version":"v1","timestamp":"2026-01-01T00:00:00Z","data":{"id":%q,"output_file_uri":"files/out"},"user_metadata":{"gemhook_token":"Zm9vYmFyYmF6cXV4cXV1eA","tenant":"acme"}}`, name)
		hdr := http.Header{}
		hdr.Set("Content-Type", "application/json")
		hdr.Set("Webhook-Id", id)
		hdr.Set("Webhook-Timestamp", ts)
		hdr.Set("Webhook-Signature", signature.SignV1(key, id, ts, body))
		posts[i] = post{srvs[i%len(srvs)].URL + "/hook", body, hdr}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				p := posts[i]
				req, _ := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(p.body))
				req.Header = p.hdr
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					b.Errorf("delivery answered %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(t0).Seconds()
}

func mustReceiver(b testing.TB, cfg gemhook.ReceiverConfig) *gemhook.Receiver {
	r, err := gemhook.NewReceiver(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
