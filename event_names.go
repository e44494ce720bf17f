package gemhook

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gemhook/gemhook/internal/eventtype"
)

// ErrUnknownEvent is wrapped by every *EventNameError: an event type a
// project webhook cannot subscribe to.
var ErrUnknownEvent = errors.New("gemhook: unknown webhook event type")

// EventNameError names an event type that is not one Gemini delivers, with
// the closest valid one when there is a plausible candidate. Gemini's own
// cookbook shows "batch.completed", which silently matches nothing.
type EventNameError struct {
	Name       string // as given
	Suggestion string // the closest valid type, or ""
}

func (e *EventNameError) Error() string {
	if e.Suggestion == "" {
		return fmt.Sprintf("%v %q (valid: %s)", ErrUnknownEvent, e.Name, strings.Join(subscribable, ", "))
	}
	return fmt.Sprintf("%v %q; did you mean %q?", ErrUnknownEvent, e.Name, e.Suggestion)
}

func (e *EventNameError) Unwrap() error { return ErrUnknownEvent }

// subscribable are the types of Gemini's API enum (SubscribedEvent), in
// its order. They are what EnsureWebhook subscribes to when given none.
var subscribable = eventtype.Names(func(t eventtype.Type) bool { return t.Subscribable })

// guideOnly are listed in Gemini's guide and used in its update sample,
// but absent from the API enum. They are accepted here and left to the API
// to refuse, since rejecting what the guide tells users to send would be
// worse than an API error naming it.
var guideOnly = eventtype.Names(func(t eventtype.Type) bool { return !t.Subscribable })

// EventTypes returns every event type a project webhook may subscribe to:
// the seven of Gemini's API enum, then the two cancellations only its guide
// lists.
func EventTypes() []string { return slices.Concat(subscribable, guideOnly) }

func knownEvent(s string) bool {
	_, ok := eventtype.Lookup(s)
	return ok
}

// CheckEvents reports whether every name is an event type a project webhook
// can subscribe to. The error joins one *EventNameError per bad name; use
// errors.As to get the first, errors.Is(err, ErrUnknownEvent) to test.
func CheckEvents(names ...string) error {
	var errs []error
	for _, n := range names {
		if !knownEvent(n) {
			errs = append(errs, &EventNameError{Name: n, Suggestion: suggestEvent(n)})
		}
	}
	return errors.Join(errs...)
}

// eventFamilies maps family spellings to the family.
var eventFamilies = map[string]string{
	"batch": "batch", "batches": "batch", "batchjob": "batch", "batch_job": "batch",
	"interaction": "interaction", "interactions": "interaction",
	"video": "video", "videos": "video", "veo": "video",
}

// families are the families' own names, the targets of a misspelled one.
var families = []string{eventtype.Batch.String(), eventtype.Interaction.String(), eventtype.Video.String()}

// familySpellings are eventFamilies' keys, longest first, so that a
// prefix match prefers "batches" to "batch".
var familySpellings = func() []string {
	out := make([]string, 0, len(eventFamilies))
	for k := range eventFamilies {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		if d := len(b) - len(a); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return out
}()

// outcomes maps verbs people write to what each family calls that outcome.
// Meaning comes first: "batch.completed" is closer to "batch.cancelled" in
// letters, but means "batch.succeeded".
var outcomes = map[string]map[string]string{
	"batch": {
		"succeeded": "succeeded", "succeed": "succeeded", "success": "succeeded", "successful": "succeeded",
		"completed": "succeeded", "complete": "succeeded", "done": "succeeded", "finished": "succeeded",
		"finish": "succeeded", "ok": "succeeded", "ready": "succeeded", "generated": "succeeded",
		"failed": "failed", "fail": "failed", "failure": "failed", "error": "failed", "errored": "failed",
		"expired": "expired", "expire": "expired", "expiry": "expired", "timeout": "expired",
		"timed_out": "expired", "timedout": "expired",
		"cancelled": "cancelled", "canceled": "cancelled", "cancel": "cancelled",
	},
	"interaction": {
		"completed": "completed", "complete": "completed", "succeeded": "completed", "succeed": "completed",
		"success": "completed", "successful": "completed", "done": "completed", "finished": "completed",
		"finish": "completed", "ok": "completed",
		"failed": "failed", "fail": "failed", "failure": "failed", "error": "failed", "errored": "failed",
		"requires_action": "requires_action", "require_action": "requires_action",
		"requiresaction": "requires_action", "action_required": "requires_action",
		"needs_action": "requires_action", "requires_input": "requires_action",
		"function_call": "requires_action",
		"cancelled":     "cancelled", "canceled": "cancelled", "cancel": "cancelled",
	},
	// Gemini has no video failure event: video.generated fires either way.
	"video": {
		"generated": "generated", "generate": "generated", "completed": "generated", "complete": "generated",
		"succeeded": "generated", "success": "generated", "done": "generated", "finished": "generated",
		"ready": "generated", "created": "generated", "failed": "generated", "error": "generated",
	},
}

// suggestEvent returns the valid type the caller most likely meant, or "".
func suggestEvent(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.NewReplacer("-", "_", " ", "_", "/", ".", ":", ".").Replace(n)
	if knownEvent(n) {
		return n
	}
	fam, verb, ok := strings.Cut(n, ".")
	if !ok {
		// "batch_completed", "batchcompleted": split at the family.
		for _, spelling := range familySpellings {
			if rest, found := strings.CutPrefix(n, spelling); found && rest != "" {
				fam, verb = spelling, strings.TrimPrefix(rest, "_")
				break
			}
		}
	}
	family := eventFamilies[fam]
	if family == "" {
		family = closest(fam, families, 2)
	}
	if family != "" {
		if v := outcomes[family][verb]; v != "" {
			return family + "." + v
		}
		var verbs []string
		for _, t := range EventTypes() {
			if f, v, _ := strings.Cut(t, "."); f == family {
				verbs = append(verbs, v)
			}
		}
		if v := closest(verb, verbs, max(2, len(verb)/3)); v != "" {
			return family + "." + v
		}
	}
	return closest(n, EventTypes(), max(2, len(n)/4))
}

// closest returns the candidate at the smallest edit distance from s, if
// that distance is at most limit; ties go to the earlier candidate.
func closest(s string, candidates []string, limit int) string {
	best, bestD := "", limit+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent bytes each cost
// one. Inputs are short (event names), so the quadratic table is fine.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
