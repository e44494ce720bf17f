// Package eventtype is the one list of the webhook event types Gemini
// sends for jobs: their names, the family of job each one is about, whether
// it says the job has settled, and whether Gemini's API enum lets a webhook
// subscribe to it. The SDK (name checks, suggestions, dispatch) and the
// emulator (subscriptions, what it refuses) both read it, so they cannot
// drift apart.
package eventtype

import "strings"

// Family is the kind of job an event type is about: the part of the name
// before the dot.
type Family uint8

// The families of Gemini's job events. Unknown is any other prefix.
const (
	Unknown Family = iota
	Batch
	Interaction
	Video
)

var familyNames = [...]string{Unknown: "", Batch: "batch", Interaction: "interaction", Video: "video"}

// String is the family's prefix in event names ("batch"), or "" for Unknown.
func (f Family) String() string {
	if int(f) < len(familyNames) {
		return familyNames[f]
	}
	return ""
}

// Type describes one event type.
type Type struct {
	Name   string
	Family Family
	// Terminal: the event claims the job has settled (requires_action
	// counts: the interaction then waits for its caller).
	Terminal bool
	// Subscribable: the type is in Gemini's API enum (SubscribedEvent).
	// The cancellations are listed only in Gemini's guide, and an API
	// that follows its enum refuses subscriptions to them.
	Subscribable bool
}

// types is the list, by family and then in the API enum's order, with each
// family's guide-only cancellation after its enum types. Filtering keeps
// the order, so the enum types alone come out in the enum's order.
var types = [...]Type{
	{"batch.succeeded", Batch, true, true},
	{"batch.expired", Batch, true, true},
	{"batch.failed", Batch, true, true},
	{"batch.cancelled", Batch, true, false},
	{"interaction.requires_action", Interaction, true, true},
	{"interaction.completed", Interaction, true, true},
	{"interaction.failed", Interaction, true, true},
	{"interaction.cancelled", Interaction, true, false},
	{"video.generated", Video, true, true},
}

// Names returns the names of the types for which keep reports true, in
// the list's order; a nil keep keeps them all.
func Names(keep func(Type) bool) []string {
	var out []string
	for _, t := range types {
		if keep == nil || keep(t) {
			out = append(out, t.Name)
		}
	}
	return out
}

// Lookup returns the type with this exact name. It runs on every
// delivery; with nine names, a loop is as quick as a hash.
func Lookup(name string) (Type, bool) {
	for _, t := range types {
		if t.Name == name {
			return t, true
		}
	}
	return Type{}, false
}

// FamilyOf returns the family a name's prefix says, for listed types and
// for types Gemini may add to a family later alike.
func FamilyOf(name string) Family {
	prefix, _, _ := strings.Cut(name, ".")
	for f := Batch; f < Family(len(familyNames)); f++ {
		if familyNames[f] == prefix {
			return f
		}
	}
	return Unknown
}
