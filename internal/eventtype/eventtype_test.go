package eventtype

import (
	"slices"
	"strings"
	"testing"
)

func TestListIsConsistent(t *testing.T) {
	t.Parallel()
	all := Names(nil)
	if len(all) != 9 {
		t.Fatalf("%d types: %v", len(all), all)
	}
	seen := map[string]bool{}
	for _, name := range all {
		typ, ok := Lookup(name)
		if !ok || typ.Name != name {
			t.Fatalf("Lookup(%q) = %+v, %v", name, typ, ok)
		}
		if FamilyOf(name) != typ.Family || typ.Family == Unknown {
			t.Errorf("%q: family %v, FamilyOf says %v", name, typ.Family, FamilyOf(name))
		}
		if strings.Count(name, ".") != 1 || !strings.HasPrefix(name, typ.Family.String()+".") {
			t.Errorf("%q: not <family>.<outcome>", name)
		}
		if seen[name] {
			t.Errorf("%q listed twice", name)
		}
		seen[name] = true
	}
}

// The API enum's seven, in its order; the guide adds the two cancellations.
func TestSubscribable(t *testing.T) {
	t.Parallel()
	got := Names(func(t Type) bool { return t.Subscribable })
	want := []string{
		"batch.succeeded", "batch.expired", "batch.failed",
		"interaction.requires_action", "interaction.completed", "interaction.failed",
		"video.generated",
	}
	if !slices.Equal(got, want) {
		t.Errorf("subscribable: %v", got)
	}
	guide := Names(func(t Type) bool { return !t.Subscribable })
	if !slices.Equal(guide, []string{"batch.cancelled", "interaction.cancelled"}) {
		t.Errorf("guide only: %v", guide)
	}
}

func TestUnknownNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "batch", "batch.", "batch.running", "Batch.succeeded", "batch.succeeded ", "webhook.ping"} {
		if typ, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q) = %+v", name, typ)
		}
	}
	families := map[string]Family{
		"batch.running": Batch, "interaction.created": Interaction, "video.failed": Video,
		"batches.succeeded": Unknown, "webhook.ping": Unknown, "batch": Batch, "": Unknown, ".batch": Unknown,
	}
	for name, want := range families {
		if got := FamilyOf(name); got != want {
			t.Errorf("FamilyOf(%q) = %v, want %v", name, got, want)
		}
	}
	if s := Family(200).String(); s != "" {
		t.Errorf("Family(200) = %q", s)
	}
}

// Both run on every delivery.
func TestLookupAllocatesNothing(t *testing.T) {
	name := strings.Clone("interaction.requires_action")
	if n := testing.AllocsPerRun(100, func() {
		_, _ = Lookup(name)
		_ = FamilyOf(name)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
