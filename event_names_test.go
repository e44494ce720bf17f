package gemhook

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCheckEventsAcceptsKnown(t *testing.T) {
	t.Parallel()
	if err := CheckEvents(EventTypes()...); err != nil {
		t.Fatal(err)
	}
	if err := CheckEvents(); err != nil {
		t.Fatalf("no names: %v", err)
	}
	// The enum's seven in its order, then the guide's two: users see this
	// order in error messages and in what EnsureWebhook subscribes to.
	want := []string{
		"batch.succeeded", "batch.expired", "batch.failed",
		"interaction.requires_action", "interaction.completed", "interaction.failed",
		"video.generated", "batch.cancelled", "interaction.cancelled",
	}
	if got := EventTypes(); !slices.Equal(got, want) {
		t.Fatalf("EventTypes: %v", got)
	}
}

func TestCheckEventsSuggests(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"batch.completed":             "batch.succeeded", // Gemini's cookbook
		"batch.complete":              "batch.succeeded",
		"Batch.Succeeded":             "batch.succeeded",
		"batch.success":               "batch.succeeded",
		"batches.failed":              "batch.failed",
		"batch_failed":                "batch.failed",
		"batch.canceled":              "batch.cancelled",
		"batch.timeout":               "batch.expired",
		"batch.sucseeded":             "batch.succeeded",
		"batch.expird":                "batch.expired",
		"bacth.failed":                "batch.failed",
		"interaction.succeeded":       "interaction.completed",
		"interactions.completed":      "interaction.completed",
		"interaction.requires-action": "interaction.requires_action",
		"interaction.action_required": "interaction.requires_action",
		"interaction.requires_actoin": "interaction.requires_action",
		"video.completed":             "video.generated",
		"video.failed":                "video.generated",
		"videos.generated":            "video.generated",
		"video.genrated":              "video.generated",
		" interaction.failed ":        "interaction.failed",
		"webhook.ping":                "",
		"everything":                  "",
		"":                            "",
		"batch.":                      "",
		strings.Repeat("batch.", 40):  "",
	}
	for in, want := range cases {
		err := CheckEvents("batch.succeeded", in)
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		var ne *EventNameError
		if !errors.As(err, &ne) || !errors.Is(err, ErrUnknownEvent) {
			t.Fatalf("%q: error %v (%T) is not an *EventNameError", in, err, err)
		}
		if ne.Name != in || ne.Suggestion != want {
			t.Errorf("%q: suggestion %q, want %q", in, ne.Suggestion, want)
		}
		if want != "" && !strings.Contains(err.Error(), `did you mean "`+want+`"`) {
			t.Errorf("%q: message %q does not name %q", in, err, want)
		}
		if want == "" && !strings.Contains(err.Error(), "batch.succeeded, batch.expired") {
			t.Errorf("%q: message %q does not list the valid types", in, err)
		}
	}
}

func TestCheckEventsReportsEveryBadName(t *testing.T) {
	t.Parallel()
	err := CheckEvents("batch.completed", "video.generated", "interaction.done")
	var names []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var ne *EventNameError
		if !errors.As(e, &ne) {
			t.Fatalf("%v", e)
		}
		names = append(names, ne.Name+">"+ne.Suggestion)
	}
	if got := strings.Join(names, " "); got != "batch.completed>batch.succeeded interaction.done>interaction.completed" {
		t.Fatal(got)
	}
}

func TestEditDistance(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"abc", "abc", 0}, {"abc", "acb", 1},
		{"kitten", "sitting", 3}, {"expird", "expired", 1}, {"ca", "abc", 3},
	} {
		if got := editDistance(c.a, c.b); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
		if got := editDistance(c.b, c.a); got != c.d {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.b, c.a, got, c.d)
		}
	}
}

// FuzzSuggestEvent: a suggestion is always a valid type, and a valid type
// is never reported.
func FuzzSuggestEvent(f *testing.F) {
	for _, s := range []string{"batch.completed", "video.failed", "interaction.requires-action", "x", "batch..", "batchesfailed"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckEvents(s)
		if knownEvent(s) {
			if err != nil {
				t.Fatalf("%q refused: %v", s, err)
			}
			return
		}
		var ne *EventNameError
		if !errors.As(err, &ne) {
			t.Fatalf("%q: %v", s, err)
		}
		if ne.Suggestion != "" && !knownEvent(ne.Suggestion) {
			t.Fatalf("%q: suggested %q", s, ne.Suggestion)
		}
	})
}
