package gemhook

import "time"

// SettledBy says what settled a job's future.
type SettledBy string

// How futures settle.
const (
	// SettledByWebhook: a verified webhook delivery said the job ended, and
	// the confirming get agreed.
	SettledByWebhook SettledBy = "webhook"
	// SettledByPoll: a fallback poll found the job ended; no webhook about
	// it had been accepted.
	SettledByPoll SettledBy = "poll"
	// SettledByAttach: the first look at the job found it ended (Await* on
	// a job that had already ended, or a Create that returned a final job).
	SettledByAttach SettledBy = "attach"
	// SettledByStore: another replica (or another Client sharing the
	// Receiver) recorded the outcome in the Store first.
	SettledByStore SettledBy = "store"
)

// Settlement is how and when a future settled.
type Settlement struct {
	By SettledBy
	// Ended is when the job ended at Gemini, as the API reports it
	// (BatchJob.EndTime, Interaction.Updated); zero when it does not say,
	// as for video operations.
	Ended time.Time
	// Noticed is when this process settled the future, on the Client's
	// clock.
	Noticed time.Time
}

// Late is how long after its end the job was noticed; 0 when Ended is
// unknown.
func (s Settlement) Late() time.Duration {
	if s.Ended.IsZero() {
		return 0
	}
	return max(s.Noticed.Sub(s.Ended), 0)
}

// Settlement reports how and when the job settled. ok is false while the
// future is pending, and for one that settled without a job: its
// submission failed, or its Client was closed first.
func (f *Future[T]) Settlement() (s Settlement, ok bool) {
	if !f.isReady() || f.settlement == nil {
		return Settlement{}, false
	}
	return *f.settlement, true
}
