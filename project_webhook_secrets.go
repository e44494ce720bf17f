package gemhook

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gemhook/gemhook/internal/reconcile"
)

// hookState is what a Client knows of its project webhooks' secrets: the
// ones it was issued, and when each previous one stops being needed. One
// scheduler entry covers every retirement, fired on the Client's scheduler,
// so Close stops it with the rest.
type hookState struct {
	sched interface {
		Schedule(*reconcile.Entry, reconcile.Task, time.Time) bool
	}
	now  func() time.Time
	log  *slog.Logger
	recv *Receiver // the Client's Receiver, which holds the secrets

	mu    sync.Mutex
	known map[string][]knownSecret // webhook id -> secrets, newest first
	entry reconcile.Entry
	due   time.Time // when entry fires; zero: not scheduled
}

type knownSecret struct {
	value  string
	retire time.Time // zero: current
}

// issued records the first secret of a new webhook and adds it to the
// Receiver.
func (st *hookState) issued(ctx context.Context, id, secret string) error {
	if err := st.recv.AddSecret(secret); err != nil {
		return err
	}
	st.mu.Lock()
	st.known[id] = []knownSecret{{value: secret}}
	st.mu.Unlock()
	return nil
}

// rotated adds a rotated-in secret and schedules the retirement of the
// webhook's previous ones. A previous secret already due to retire keeps
// its earlier time, as Gemini keeps its earlier expiry.
func (st *hookState) rotated(ctx context.Context, id, secret string) error {
	if err := st.recv.AddSecret(secret); err != nil {
		return err
	}
	retire := st.now().Add(SecretRevocationDelay + retireSkew)
	st.mu.Lock()
	prev := st.known[id]
	for i := range prev {
		if prev[i].retire.IsZero() {
			prev[i].retire = retire
		}
	}
	st.known[id] = append([]knownSecret{{value: secret}}, prev...)
	st.scheduleLocked()
	st.mu.Unlock()
	if len(prev) == 0 {
		st.log.LogAttrs(ctx, slog.LevelInfo, "rotated webhook secret; its previous secrets were not issued to this client: remove them from the receiver after the delay",
			slog.String("webhook", id), slog.Time("after", retire))
	} else {
		st.log.LogAttrs(ctx, slog.LevelInfo, "rotated webhook secret",
			slog.String("webhook", id), slog.Int("retiring", len(prev)), slog.Time("at", retire))
	}
	return nil
}

// current returns the secrets this Client holds for webhook id.
func (st *hookState) current(id string) []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []string
	for _, k := range st.known[id] {
		out = append(out, k.value)
	}
	return out
}

// Fire implements reconcile.Task; it runs on the scheduler's goroutine.
func (st *hookState) Fire(time.Time) { st.sweep() }

// sweep removes the secrets whose retirement is due and schedules the next.
// It runs when the entry fires and, cheaply, on every webhook call, which
// covers a clock that jumped past a pending timer.
func (st *hookState) sweep() {
	now := st.now()
	var drop []string
	st.mu.Lock()
	for id, ks := range st.known {
		keep := ks[:0]
		for _, k := range ks {
			if !k.retire.IsZero() && !now.Before(k.retire) {
				drop = append(drop, k.value)
			} else {
				keep = append(keep, k)
			}
		}
		clear(ks[len(keep):])
		st.known[id] = keep
	}
	st.due = time.Time{}
	st.scheduleLocked()
	st.mu.Unlock()
	for _, s := range drop {
		st.recv.RemoveSecret(s)
	}
}

func (st *hookState) scheduleLocked() {
	var next time.Time
	for _, ks := range st.known {
		for _, k := range ks {
			if !k.retire.IsZero() && (next.IsZero() || k.retire.Before(next)) {
				next = k.retire
			}
		}
	}
	if next.IsZero() || (!st.due.IsZero() && !next.Before(st.due)) {
		return
	}
	if st.sched.Schedule(&st.entry, st, next) {
		st.due = next
	}
}
