package gemhook

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/gemhook/gemhook/internal/aging"
)

// Defaults for MemoryStoreConfig's zero values.
const (
	DefaultDedupeTTL   = 25 * time.Hour // Gemini retries a delivery for 24 h
	DefaultOutcomeTTL  = 25 * time.Hour
	DefaultEventTTL    = 10 * time.Minute
	DefaultJobTTL      = 7 * 24 * time.Hour
	DefaultMaxOrphans  = 10_000
	DefaultMaxOutcomes = 1_000_000 // a day of a million jobs: about 170 MiB
	DefaultMaxIDs      = 100_000
	DefaultValueTTL    = 10 * time.Minute
	DefaultMaxValues   = 10_000
)

// maxEvents bounds the events a store keeps per job: the first per token
// and terminality, so that an event parked first with another job's token
// cannot shadow the genuine one.
const maxEvents = 8

// MemoryStoreConfig bounds a MemoryStore. The zero value is usable.
type MemoryStoreConfig struct {
	Now         func() time.Time // the store's clock; default time.Now
	DedupeTTL   time.Duration    // how long a delivery id is remembered; default DefaultDedupeTTL
	OutcomeTTL  time.Duration    // how long an outcome is kept; default DefaultOutcomeTTL
	EventTTL    time.Duration    // how long an event waits for its job to register; default DefaultEventTTL
	JobTTL      time.Duration    // how long a registration is kept unsettled; default DefaultJobTTL
	MaxOrphans  int              // jobs with events and no registration; then ErrStoreFull; default DefaultMaxOrphans
	MaxOutcomes int              // outcomes kept; the oldest is forgotten first; default DefaultMaxOutcomes
	MaxIDs      int              // delivery ids kept; the oldest is forgotten first; default DefaultMaxIDs
	// ValueTTL and MaxValues bound the jobs kept in outcomes (Outcome.Value)
	// for other waiters: they read them as soon as the hint comes, so a
	// short time suffices, and a late one does a get instead.
	ValueTTL  time.Duration // default DefaultValueTTL
	MaxValues int           // default DefaultMaxValues
}

// MemoryStore is the Store of one process: what a Receiver uses when
// ReceiverConfig.Store is nil. Several Receivers in one process may share
// one (tests and examples do, to stand in for replicas). Every map is
// bounded; it starts no goroutines and expires entries as it is used.
type MemoryStore struct {
	cfg MemoryStoreConfig

	mu       sync.Mutex
	jobs     *aging.Map[*memJob]
	orphans  *aging.Map[*[]JobEvent]
	outcomes *aging.Map[memOutcome]
	values   *aging.Map[[]byte]
	ids      *aging.Map[struct{}]
	leases   map[string]memLease
	subs     map[*memSub]struct{}
}

type memJob struct {
	job    PendingJob
	events *[]JobEvent // nil until its first event: most jobs get one, late
}

// memOutcome is an Outcome in as few bytes as a day of a million of them
// allows: the state alone, as most are, and the rest only when set. Values
// are kept apart, for less time.
type memOutcome struct {
	state string
	text  *[2]string // code and message, if any
}

func (m memOutcome) outcome() Outcome {
	o := Outcome{State: m.state}
	if m.text != nil {
		o.Code, o.Message = m.text[0], m.text[1]
	}
	return o
}

type memLease struct {
	owner string
	until time.Time
}

type memSub struct {
	hint   func(string)
	resync func(lost bool)
	mu     sync.Mutex // held while calling, so that stop can wait out a call
	off    bool
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(cfg MemoryStoreConfig) *MemoryStore {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DedupeTTL, DefaultDedupeTTL)
	def(&cfg.OutcomeTTL, DefaultOutcomeTTL)
	def(&cfg.EventTTL, DefaultEventTTL)
	def(&cfg.JobTTL, DefaultJobTTL)
	def(&cfg.ValueTTL, DefaultValueTTL)
	if cfg.MaxValues <= 0 {
		cfg.MaxValues = DefaultMaxValues
	}
	if cfg.MaxOrphans <= 0 {
		cfg.MaxOrphans = DefaultMaxOrphans
	}
	if cfg.MaxOutcomes <= 0 {
		cfg.MaxOutcomes = DefaultMaxOutcomes
	}
	if cfg.MaxIDs <= 0 {
		cfg.MaxIDs = DefaultMaxIDs
	}
	return &MemoryStore{
		cfg:      cfg,
		jobs:     aging.New[*memJob](cfg.JobTTL, math.MaxInt),
		orphans:  aging.New[*[]JobEvent](cfg.EventTTL, cfg.MaxOrphans),
		outcomes: aging.New[memOutcome](cfg.OutcomeTTL, cfg.MaxOutcomes),
		values:   aging.New[[]byte](min(cfg.ValueTTL, cfg.OutcomeTTL), cfg.MaxValues),
		ids:      aging.New[struct{}](cfg.DedupeTTL, cfg.MaxIDs),
		leases:   make(map[string]memLease),
		subs:     make(map[*memSub]struct{}),
	}
}

func (s *MemoryStore) expire(now time.Time) {
	s.jobs.Expire(now)
	s.orphans.Expire(now)
	s.outcomes.Expire(now)
	s.values.Expire(now)
	s.ids.Expire(now)
}

// Deliver implements Store.
func (s *MemoryStore) Deliver(ctx context.Context, key, id string, ev JobEvent) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	now := s.cfg.Now()
	s.expire(now)
	idKey := key + "\x00" + id
	if id != "" {
		if _, seen := s.ids.Get(idKey); seen {
			s.mu.Unlock()
			return true, nil
		}
	}
	if _, done := s.outcomes.Get(key); !done {
		if j, ok := s.jobs.Get(key); ok {
			if j.events == nil {
				j.events = new([]JobEvent)
			}
			*j.events = keepEvent(*j.events, ev)
		} else if !ev.Terminal {
			// Progress of a job nobody waits for: nothing to keep.
		} else if evs, ok := s.orphans.Get(key); ok {
			*evs = keepEvent(*evs, ev)
		} else {
			evs := []JobEvent{ev}
			if !s.orphans.Put(key, &evs, now, false) {
				s.mu.Unlock()
				return false, ErrStoreFull
			}
		}
	}
	if id != "" {
		s.ids.Put(idKey, struct{}{}, now, true)
	}
	s.mu.Unlock()
	s.hint(key)
	return false, nil
}

// keepEvent adds ev unless an event with its token and terminality is kept
// or the job holds maxEvents already.
func keepEvent(evs []JobEvent, ev JobEvent) []JobEvent {
	for _, e := range evs {
		if e.Token == ev.Token && e.Signer == ev.Signer && e.Terminal == ev.Terminal {
			return evs
		}
	}
	if len(evs) >= maxEvents {
		return evs
	}
	return append(evs, ev)
}

// Register implements Store.
func (s *MemoryStore) Register(ctx context.Context, key string, job PendingJob) (JobRecord, error) {
	if err := ctx.Err(); err != nil {
		return JobRecord{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	s.expire(now)
	if _, done := s.outcomes.Get(key); !done {
		if _, ok := s.jobs.Get(key); !ok {
			j := &memJob{job: job}
			if evs, ok := s.orphans.Take(key); ok {
				j.events = evs
			}
			s.jobs.Put(key, j, now, false)
		}
	}
	return s.recordLocked(key), nil
}

// Lookup implements Store.
func (s *MemoryStore) Lookup(ctx context.Context, key string) (JobRecord, error) {
	if err := ctx.Err(); err != nil {
		return JobRecord{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.cfg.Now())
	return s.recordLocked(key), nil
}

// recordLocked copies what the store holds of key, so that callers never
// share its slices.
func (s *MemoryStore) recordLocked(key string) JobRecord {
	var rec JobRecord
	if m, ok := s.outcomes.Get(key); ok {
		o := m.outcome()
		o.Value, _ = s.values.Get(key)
		rec.Outcome = &o
		return rec
	}
	if j, ok := s.jobs.Get(key); ok {
		job := j.job
		rec.Job = &job
		if j.events != nil {
			rec.Events = slices.Clone(*j.events)
		}
	} else if evs, ok := s.orphans.Get(key); ok {
		rec.Events = slices.Clone(*evs)
	}
	return rec
}

// Settle implements Store.
func (s *MemoryStore) Settle(ctx context.Context, key string, o Outcome) (Outcome, error) {
	if err := ctx.Err(); err != nil {
		return Outcome{}, err
	}
	s.mu.Lock()
	now := s.cfg.Now()
	s.expire(now)
	if m, ok := s.outcomes.Get(key); ok {
		won := m.outcome()
		won.Value, _ = s.values.Get(key)
		s.mu.Unlock()
		return won, nil
	}
	if o.Value != nil {
		s.values.Put(key, o.Value, now, true)
	}
	m := memOutcome{state: o.State}
	if o.Code != "" || o.Message != "" {
		m.text = &[2]string{o.Code, o.Message}
	}
	s.outcomes.Put(key, m, now, true)
	s.jobs.Take(key)
	s.orphans.Take(key)
	delete(s.leases, key)
	s.mu.Unlock()
	s.hint(key)
	return o, nil
}

// Lease implements Store.
func (s *MemoryStore) Lease(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if l, ok := s.leases[key]; ok && l.owner != owner && now.Before(l.until) {
		return false, nil
	}
	if len(s.leases) > 2*s.jobs.Len()+1024 {
		for k, l := range s.leases {
			if !now.Before(l.until) {
				delete(s.leases, k)
			}
		}
	}
	s.leases[key] = memLease{owner: owner, until: now.Add(ttl)}
	return true, nil
}

// Release implements Store.
func (s *MemoryStore) Release(ctx context.Context, key, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[key]; ok && l.owner == owner {
		delete(s.leases, key)
	}
	return nil
}

// Pending implements Store.
func (s *MemoryStore) Pending(ctx context.Context) ([]PendingJob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.expire(s.cfg.Now())
	out := make([]PendingJob, 0, s.jobs.Len())
	s.jobs.Each(func(_ string, j *memJob) { out = append(out, j.job) })
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b PendingJob) int {
		if c := a.Submitted.Compare(b.Submitted); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out, nil
}

// Subscribe implements Store. The subscription is established at once:
// resync is called before Subscribe returns, and hints are calls made by
// Deliver and Settle themselves.
func (s *MemoryStore) Subscribe(hint func(key string), resync func(lost bool)) (stop func()) {
	sub := &memSub{hint: hint, resync: resync}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	resync(false)
	return func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
		sub.mu.Lock()
		sub.off = true
		sub.mu.Unlock()
	}
}

func (s *MemoryStore) hint(key string) {
	s.mu.Lock()
	var stack [4]*memSub
	subs := stack[:0]
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.mu.Lock()
		if !sub.off {
			sub.hint(key)
		}
		sub.mu.Unlock()
	}
}
