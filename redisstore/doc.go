// Package redisstore is a gemhook.Store on Redis (go-redis v9), for
// services that run several replicas behind one webhook URL:
//
//	store, err := redisstore.Open(ctx, "redis://127.0.0.1:6379/0")
//	...
//	defer store.Close()
//	recv, err := gemhook.NewReceiver(gemhook.ReceiverConfig{Store: store, ...})
//
// New builds a Store over a client of your own (a *redis.Client, or a
// *redis.ClusterClient for Redis Cluster); Close then leaves the client open.
//
// # Keys are the truth, pub/sub is the hint
//
// What the replicas share lives in keys that expire on the server's clock
// (SET NX PX, PEXPIRE), so no replica's clock decides an expiry or a lease.
// For a job with routing key K and Config.Prefix P:
//
//	{P:K}:job       the first registration (JSON), until it settles or JobTTL (7 days)
//	{P:K}:events    list of at most 8 events, the first per token, signer and terminality;
//	                EventTTL (1h) while unregistered (terminal events only),
//	                then as long as the registration
//	{P:K}:outcome   the first outcome (JSON), OutcomeTTL (25h)
//	{P:K}:id:ID     a delivery id seen, DedupeTTL (25h)
//	{P:K}:lease     the owner of the poll lease, for the TTL Lease was given
//	{P:pending:NN}  16 sorted sets: the Pending index (member K, score Submitted)
//
// Every change to more than one key is one Lua script (EVALSHA, falling
// back to EVAL when the server's script cache is empty), so it is atomic:
// Deliver checks the delivery id (SET NX), the outcome and the kept events,
// appends the event and publishes K in one step; Settle is first-wins and
// drops the registration in one step; Register keeps the first registration
// and hands it the events already parked. A poll lease is a key whose value
// is its owner, taken with a TTL and renewed or released only by a script
// that compares the owner. Each of Deliver, Register, Settle, Lookup, Lease
// and Release costs one round trip; Pending one, plus one per 500 jobs.
//
// Deliver (unless it is a duplicate) and Settle (when it wins) PUBLISH K on
// Config.Channel (P+":hints") from inside their script. Pub/sub is
// at-most-once: a hint published while a subscriber's connection is down is
// lost. go-redis reconnects and resubscribes by itself; every subscription
// confirmation, the first included, calls the subscriber's resync, which
// reads again what it waits for.
//
// # Memory
//
// Each job keeps at most 8 events, and only verified deliveries write, but
// the number of jobs is not capped here (a Store never answers
// gemhook.ErrStoreFull): bound Redis with maxmemory and keep the default
// maxmemory-policy noeviction. A full Redis then refuses writes, the
// Receiver answers 503 and Gemini retries; an evicting policy would drop
// registrations, outcomes and leases without a word.
//
// # Redis Cluster
//
// All the keys of one job share the hash tag {P:K}, so each script touches
// one slot and runs on a cluster unchanged. The Pending index cannot share
// those slots, so it is kept beside the scripts (in the same round trip, not
// in the same atomic step) and treated as a hint: Pending reads the
// registrations it names and lists only those that exist, dropping entries
// of settled jobs as it goes. It is split into 16 shards with tags of their
// own so that no single slot holds it all. Hints use classic PUBLISH, which
// a cluster forwards to every node.
//
// # Persistence
//
// A Redis without persistence (no RDB or AOF) forgets registrations,
// events, outcomes and delivery ids when it restarts. A redelivered event of
// a job that had settled is then parked again as if new, which is harmless:
// nobody waits for it and it expires after EventTTL. Pending no longer lists
// the jobs registered before the restart. An event that was acknowledged
// before the restart and that no replica had acted on is lost as well: its
// job settles by its fallback poll (gemhook.Fallback). Where that matters,
// run Redis with the append-only file (appendonly yes).
package redisstore
