// Package pgstore is a gemhook.Store on PostgreSQL, for a service that runs
// several replicas behind one webhook URL:
//
//	store, err := pgstore.Open(ctx, "postgres://user@db:5432/app")
//	...
//	defer store.Close()
//	recv, err := gemhook.NewReceiver(gemhook.ReceiverConfig{Store: store, ...})
//
// New does the same over a *pgxpool.Pool of the caller's, with a Config.
//
// # How it works
//
// Rows are the truth and notifications are hints. Each of Deliver,
// Register and Settle is a call of a function that the store creates, so
// one transaction and one round trip: it takes a transaction-scoped
// advisory lock on the job's key (writes about one job are serialised,
// writes about different jobs are not), changes the rows and, for a new
// event or the first outcome, calls pg_notify with the job's key, which
// PostgreSQL delivers only when the transaction commits, so a replica that
// gets the hint always finds the row. Deliveries that arrive at the same
// time share one transaction (each is answered after its commit): the
// server serialises the commits of notifying transactions, so one per
// delivery would cap throughput at one disk flush per delivery.
//
// A replica listens on one dedicated connection outside the pool; after
// every failure it reconnects with backoff, and after every LISTEN, the
// first included, subscribers resync, because notifications sent while
// nobody listened are gone. An idle listening connection is pinged every
// 30 seconds, so a dead peer is noticed.
//
// Every expiry (dedupe ids, outcomes, events, registrations, poll leases)
// is computed by the database's clock, never the caller's, so a replica
// whose clock runs ahead can neither steal a lease nor expire an outcome.
// Reads ignore expired rows, and every SweepEvery one replica at a time
// (the holder of a transaction-scoped advisory lock) deletes them.
//
// # Tables
//
// In the schema Config.Schema ("gemhook" by default), created with its
// tables if missing: jobs (pending registrations), events (verified events
// kept for a job, at most 8 each, the first per token, signer and terminality),
// outcomes (the first outcome of each job), dedupe (webhook ids seen) and
// leases (who polls a job), each with an expires_at column; and the
// functions job_record, deliver, register, settle, lease and release.
// Creating them needs the CREATE privilege on the database (or an existing
// schema the user owns); several replicas may create them at once.
//
// # PgBouncer and other poolers
//
// The store keeps no state in a session: its locks are transaction-scoped
// and its settings transaction-local, so its pool may go through PgBouncer
// in transaction mode (with pgx's default statement cache this needs
// PgBouncer 1.21 or later with max_prepared_statements set; otherwise add
// default_query_exec_mode=exec to the DSN). LISTEN cannot: it belongs to a
// session, and a transaction pooler hands the server connection to other
// clients between transactions, so hints would stop arriving (and so would
// session-level advisory locks, which this store does not use: whichever
// client got the connection would hold them). Point Config.ListenDSN at the
// server directly, or at a PgBouncer pool in session mode.
//
// # Latency and durability
//
// A delivery is acknowledged only once its transaction has committed, so
// with the default synchronous_commit=on each Deliver, Register and Settle
// waits for a WAL flush: on a virtual machine's disk that is milliseconds
// at the median and tens of milliseconds at the 99th percentile, and it is
// most of a delivery's latency. Leases alone commit with
// synchronous_commit=off (a lease lost in a crash costs at most one more
// poll). Setting synchronous_commit=off for the store's role or database
// cuts every write to well under a millisecond, and risks losing the last
// few hundred milliseconds of commits if the server crashes: a delivery
// lost that way was already answered 2xx, so its job settles through the
// reconciliation poll instead of the webhook.
package pgstore
