// Package storetest is the conformance suite of gemhook.Store: one set of
// cases that the in-memory store, pgstore and redisstore all pass, and that
// anyone writing a Store of their own can run against it.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, storetest.Harness{Open: ..., DropHints: ..., Break: ...})
//	}
//
// The cases run against the real backend: an in-memory imitation of a
// database exercises neither its reconnects nor its server-side expiry.
package storetest

import (
	"testing"
	"time"

	"github.com/gemhook/gemhook"
)

// Harness tells the suite how to make stores of one kind.
type Harness struct {
	// Open returns a function that opens a replica: a Store on a namespace
	// of its own for t (a schema, a key prefix, a database number), which
	// every replica opened by the same function shares. Replicas and the
	// namespace are cleaned up when t ends; the suite may also close a
	// replica itself (Close() error, where the store has one) to kill it,
	// so Close must be safe to call twice.
	// cfg carries the expiry times a case needs; zero fields take the
	// store's defaults.
	Open func(t testing.TB, cfg Config) (replica func() gemhook.Store)

	// DropHints cuts s's hint subscription as a network fault would (for
	// example by killing its listening connection on the server), so that
	// hints sent before it reconnects are lost. nil skips the case.
	DropHints func(t testing.TB, s gemhook.Store)

	// Break makes every later call of s fail, as an unreachable server
	// would. nil skips the case.
	Break func(t testing.TB, s gemhook.Store)
}

// Config sets a store's expiry times for a case. Zero means the store's
// default.
type Config struct {
	DedupeTTL  time.Duration // how long a delivery id is remembered
	OutcomeTTL time.Duration // how long an outcome is kept
	EventTTL   time.Duration // how long an event for an unregistered job is kept
}
