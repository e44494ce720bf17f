package gemhooktest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

type kind uint8

const (
	kindBatch kind = iota
	kindVideo
	kindInteraction
)

func (k kind) String() string {
	switch k {
	case kindBatch:
		return "batch"
	case kindVideo:
		return "video"
	}
	return "interaction"
}

// job is one long-running job. All fields are guarded by Server.mu.
type job struct {
	kind        kind
	name        string // as the API names it: "batches/x", "models/m/operations/x", or an interaction id
	seq         uint64
	model       string
	displayName string
	created     time.Time
	updated     time.Time
	ended       time.Time
	outcome     string // "" while running
	reason      string // failure message, when the outcome is not success
	answered    bool   // the create call has answered; the job shows as running

	uris     []string       // per-request webhook URIs
	metadata map[string]any // user_metadata to echo

	// batches
	requests  []map[string]string // metadata of inlined requests; nil for a file source
	inputFile string
	// batches with a file source, and videos
	outputFile string // "files/<id>"
	// videos
	samples int
	// interactions
	input    string // the input when it was a plain string
	agent    []byte // raw "agent" as sent
	prevID   string
	inFlight bool // a background interaction (a foreground one completes at once)

	last *event // the event its last transition emitted, for Redeliver
}

// JobInfo describes a job, for tests.
type JobInfo struct {
	Name         string         // resource name as the API returns it
	Kind         string         // "batch", "video" or "interaction"
	Model        string         // "models/..." for batches and videos; as sent for interactions
	State        string         // as get calls report it: "BATCH_STATE_RUNNING", "done", "in_progress", ...
	Outcome      string         // Succeeded, Failed, ...; "" while running
	Created      time.Time      // Options.Now at create
	Ended        time.Time      // Options.Now when it ended; zero while running
	URIs         []string       // per-request webhook URIs
	UserMetadata map[string]any // user_metadata of its webhook config
	MessageID    string         // webhook-id of its last event; "" before it has one
}

func (j *job) info() JobInfo {
	in := JobInfo{
		Name: j.name, Kind: j.kind.String(), Model: j.model, State: j.state(),
		Outcome: j.outcome, Created: j.created, Ended: j.ended,
		URIs: append([]string(nil), j.uris...), UserMetadata: j.metadata,
	}
	if j.last != nil {
		in.MessageID = j.last.id
	}
	return in
}

// state is the job's state as its get call reports it.
func (j *job) state() string {
	switch j.kind {
	case kindBatch:
		switch j.outcome {
		case "":
			if !j.answered {
				return "BATCH_STATE_PENDING"
			}
			return "BATCH_STATE_RUNNING"
		case Succeeded:
			return "BATCH_STATE_SUCCEEDED"
		case Expired:
			return "BATCH_STATE_EXPIRED"
		case Cancelled:
			return "BATCH_STATE_CANCELLED"
		}
		return "BATCH_STATE_FAILED"
	case kindVideo:
		if j.outcome == "" {
			return "running"
		}
		return "done"
	}
	switch j.outcome {
	case "":
		return "in_progress"
	case Succeeded:
		return "completed"
	case Cancelled:
		return "cancelled"
	case RequiresAction:
		return "requires_action"
	}
	return "failed"
}

// settled reports whether the job has stopped by itself. An interaction
// that requires action may still be finished by Server.Finish.
func (j *job) settled() bool { return j.outcome != "" && j.outcome != RequiresAction }

func validOutcome(k kind, o string) bool {
	switch o {
	case Succeeded, Failed, Expired, Cancelled:
		return true
	case RequiresAction:
		return k == kindInteraction
	}
	return false
}

// addJobLocked stores a new job and arranges for it to end after
// JobDuration. It refuses when MaxJobs jobs are stored and none has ended.
func (s *Server) addJobLocked(j *job) error {
	if len(s.jobs) >= s.opts.MaxJobs && !s.evictLocked() {
		return exhausted("gemhooktest: %d jobs are running (Options.MaxJobs)", len(s.jobs))
	}
	s.jobSeq++
	j.seq = s.jobSeq
	now := s.now()
	j.created, j.updated = now, now
	s.jobs[j.name] = j
	if s.opts.JobDuration >= 0 && (j.kind != kindInteraction || j.inFlight) {
		name, seq := j.name, j.seq
		s.sched.at(time.Now().Add(s.opts.JobDuration), func() { s.endByItself(name, seq) })
	}
	return nil
}

// evictLocked forgets the oldest ended job. O(jobs), but only runs at the cap.
func (s *Server) evictLocked() bool {
	var old *job
	for _, j := range s.jobs {
		if j.settled() && (old == nil || j.seq < old.seq) {
			old = j
		}
	}
	if old == nil {
		return false
	}
	delete(s.jobs, old.name)
	return true
}

func (s *Server) endByItself(name string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[name]
	if j == nil || j.seq != seq || j.outcome != "" || s.closed {
		return
	}
	o := Succeeded
	if s.opts.Outcome != nil {
		o = s.opts.Outcome(name)
	}
	if o == "" {
		o = Succeeded
	}
	reason := ""
	if !validOutcome(j.kind, o) {
		reason = fmt.Sprintf("gemhooktest: Options.Outcome returned %q, which a %s cannot end with", o, j.kind)
		o = Failed
	}
	s.endLocked(j, o, reason, false)
}

// endLocked moves j to outcome and emits its event. With early set it
// returns what to wait on for the first attempts (see emitLocked).
func (s *Server) endLocked(j *job, outcome, reason string, early bool) []chan struct{} {
	now := s.now()
	j.outcome, j.ended, j.updated = outcome, now, now
	if reason == "" && outcome != Succeeded && outcome != RequiresAction {
		reason = "gemhooktest: the job ended in " + outcome
	}
	j.reason = reason
	ev := s.jobEvent(j)
	j.last = ev
	if ev == nil {
		return nil
	}
	return s.emitLocked(ev, emitOptions{early: early})
}

// lookupLocked finds a job by the name its API uses; interactions may also
// be named "interactions/<id>".
func (s *Server) lookupLocked(name string) *job {
	if j := s.jobs[name]; j != nil {
		return j
	}
	if id, ok := strings.CutPrefix(name, "interactions/"); ok {
		if j := s.jobs[id]; j != nil && j.kind == kindInteraction {
			return j
		}
	}
	return nil
}

// jobLocked finds a job for the test controls, or says why it cannot.
func (s *Server) jobLocked(name string) (*job, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if j := s.lookupLocked(name); j != nil {
		return j, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownJob, name)
}

// Finish ends a running job now with outcome (Succeeded, Failed, Expired,
// Cancelled, or for interactions RequiresAction), and queues its event. An
// interaction that requires action may be finished again.
func (s *Server) Finish(name, outcome string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.jobLocked(name)
	if err != nil {
		return err
	}
	if !validOutcome(j.kind, outcome) {
		return fmt.Errorf("%w: %q for a %s", ErrBadOutcome, outcome, j.kind)
	}
	if j.settled() || (j.outcome == RequiresAction && outcome == RequiresAction) {
		return fmt.Errorf("%w: %s is %s", ErrJobEnded, name, j.state())
	}
	s.endLocked(j, outcome, "", false)
	return nil
}

// Redeliver queues the job's last event again, with the same webhook-id, as
// Gemini's retries do: a receiver that restarted and lost its memory of the
// first delivery sees it again. DropRate does not apply to it.
func (s *Server) Redeliver(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.jobLocked(name)
	if err != nil {
		return err
	}
	if j.last == nil {
		return fmt.Errorf("%w: %s", ErrJobRunning, name)
	}
	s.emitLocked(j.last, emitOptions{noDrop: true})
	return nil
}

// Job describes the job with this resource name.
func (s *Server) Job(name string) (JobInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookupLocked(name)
	if j == nil {
		return JobInfo{}, false
	}
	return j.info(), true
}

// Jobs describes every stored job, oldest first.
func (s *Server) Jobs() []JobInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobInfo, 0, len(s.jobs))
	for _, j := range s.sortedJobsLocked(nil) {
		out = append(out, j.info())
	}
	return out
}

// sortedJobsLocked returns the jobs that keep passes, oldest first.
func (s *Server) sortedJobsLocked(keep func(*job) bool) []*job {
	out := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		if keep == nil || keep(j) {
			out = append(out, j)
		}
	}
	slices.SortFunc(out, func(a, b *job) int { return cmp.Compare(a.seq, b.seq) })
	return out
}
