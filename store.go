package gemhook

import (
	"context"
	"errors"
	"time"
)

// Store shares what a service knows about its jobs between its replicas: the
// jobs being waited on, verified events that arrived before their job was
// registered, the first outcome of each job, which deliveries were seen, and
// who polls a job now. Every Receiver has one: ReceiverConfig.Store, or a
// MemoryStore of its own when that is nil. The modules pgstore and redisstore
// hold stores that several processes share; storetest checks any Store.
//
// A Store is the truth and its hints are only hints: a method that returns
// nil has made its change durable (as durable as the backend is), and a
// hint may be lost, late or repeated. Keys are the jobs' routing keys
// ("batches/x", "operations/x", "interactions/x"); a store treats them and
// every other string as opaque. All times that decide expiry or leases are
// the store's own, never the caller's.
//
// Implementations must be safe for concurrent use. Close, where a store has
// one, belongs to whoever opened the store: a Receiver never closes it.
type Store interface {
	// Deliver records one verified event about the job key and, when it
	// kept the event, hints every subscriber about key (a store may hint
	// more often: a hint costs a read). id identifies the delivery (empty: none):
	// a second Deliver with an id already seen for key within the dedupe
	// TTL reports duplicate and changes nothing. An event for a job that
	// has an outcome is acknowledged and not kept, and so is a non-terminal
	// event for a job nobody registered. A job keeps at most a few events
	// (8), the first per token, signer and terminality. An error means the event
	// was not taken and the sender must retry later.
	Deliver(ctx context.Context, key, id string, ev JobEvent) (duplicate bool, err error)

	// Register records job as pending under key, unless it is already
	// registered (the first registration's token, time and metadata stay)
	// or has settled, and returns the job's record: its registration,
	// the events kept for it (not consumed: every replica that registers
	// sees them) and its outcome.
	Register(ctx context.Context, key string, job PendingJob) (JobRecord, error)

	// Lookup returns the record of key; a key the store does not know has
	// a zero record.
	Lookup(ctx context.Context, key string) (JobRecord, error)

	// Settle records o as key's outcome unless it has one, removes the job
	// from the pending ones, hints every subscriber, and returns the
	// outcome that holds: o, or the one recorded first. Outcomes are kept
	// for at least 24 hours, so that redeliveries anywhere are no-ops.
	Settle(ctx context.Context, key string, o Outcome) (Outcome, error)

	// Lease takes or renews the lease on polling key for owner, for ttl on
	// the store's clock. It reports false while another owner's lease has
	// not expired.
	Lease(ctx context.Context, key, owner string, ttl time.Duration) (bool, error)

	// Release gives up owner's lease on key; it is a no-op for a lease
	// held by another owner or already expired.
	Release(ctx context.Context, key, owner string) error

	// Pending lists the registered jobs that have not settled, oldest
	// first.
	Pending(ctx context.Context) ([]PendingJob, error)

	// Subscribe starts calling hint with the key of every job that got an
	// event or an outcome, on any replica, and resync each time the
	// subscription has been established or re-established: hints sent
	// while it was down are lost, so the subscriber reads again what it
	// waits for. lost says the store itself may have lost what it had
	// acknowledged (a server restarted without persistence): the
	// subscriber then asks the API about every job it waits for. It does
	// not block; stop ends the subscription, and after stop returns
	// neither function is called again.
	Subscribe(hint func(key string), resync func(lost bool)) (stop func())
}

// JobEvent is what a Store keeps of one verified event about a job.
type JobEvent struct {
	Type     string `json:"type"`               // e.g. "batch.failed"
	Terminal bool   `json:"terminal,omitempty"` // the event claims the job has settled
	Token    string `json:"token,omitempty"`    // correlation token from its metadata (TokenKey)
	Code     string `json:"code,omitempty"`     // error code, if the event has one
	Message  string `json:"message,omitempty"`  // error message, if the event has one
	// Signer names the project secret that verified the event (empty for
	// Gemini's per-request signatures); a Client whose Config.Secrets are
	// set trusts only events its own secrets verified.
	Signer string `json:"signer,omitempty"`
}

// PendingJob is a job that this service submitted or attached to and that
// has not settled. Client.Pending lists them, so that a replica that
// restarts can attach to them again.
type PendingJob struct {
	Name      string         `json:"name"`               // resource name, e.g. "batches/x"
	Kind      JobKind        `json:"kind"`               // which Await* attaches to it
	Token     string         `json:"token,omitempty"`    // correlation token its events carry, if any
	Submitted time.Time      `json:"submitted"`          // when it was submitted or first attached to
	Metadata  map[string]any `json:"metadata,omitempty"` // the user metadata sent with it, without the token
	// Trace is the W3C traceparent of the submission's span ("" when it
	// had none), so that the job's spans on any replica join its trace.
	Trace string `json:"trace,omitempty"`
}

// JobKind says what sort of job a PendingJob is.
type JobKind string

// The kinds of job, and the method that attaches to each.
const (
	KindBatch       JobKind = "batch"       // AwaitBatch
	KindVideos      JobKind = "videos"      // AwaitVideos
	KindInteraction JobKind = "interaction" // AwaitInteraction
)

// JobRecord is what a Store knows of one job.
type JobRecord struct {
	Job     *PendingJob // nil unless registered and not settled
	Events  []JobEvent  // events kept for it, oldest first
	Outcome *Outcome    // nil until it has settled
}

// Outcome is how a job settled, as the replica that settled it saw it.
type Outcome struct {
	State   string `json:"state"`             // terminal state, e.g. "JOB_STATE_SUCCEEDED"
	Code    string `json:"code,omitempty"`    // error code from the API or a trusted event
	Message string `json:"message,omitempty"` // error message from the API or a trusted event
	// Value is the job as the API returned it, as JSON, so that waiters on
	// other replicas settle without a get of their own; nil when too large.
	// Those waiters read it as soon as the Settle hint reaches them, so a
	// store may keep it for less time than the outcome (at least a few
	// minutes) to save space; a waiter that finds none makes its own get.
	Value []byte `json:"value,omitempty"`
}

// ErrStoreFull means a Store cannot keep an event now (too many events for
// jobs nobody has registered); the Receiver answers 503 and the sender
// retries.
var ErrStoreFull = errors.New("gemhook: store full")
