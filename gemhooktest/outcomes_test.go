package gemhooktest

import (
	"fmt"
	"testing"
)

func TestMixedOutcomeCoversEveryOutcome(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for i := range 1000 {
		// Named as the emulator names its jobs: interactions by a bare id.
		for _, name := range []string{fmt.Sprint("batches/b", i), fmt.Sprint("v1_i", i), fmt.Sprint("models/veo/operations/o", i)} {
			o := MixedOutcome(name)
			if MixedOutcome(name) != o {
				t.Fatalf("%s: two outcomes", name)
			}
			seen[o]++
		}
	}
	for _, o := range []string{Succeeded, Failed, Expired, Cancelled, RequiresAction} {
		if seen[o] == 0 {
			t.Errorf("no job ended %s: %v", o, seen)
		}
	}
	if seen[Succeeded] < 1500 {
		t.Errorf("%d of 3000 succeeded, want most: %v", seen[Succeeded], seen)
	}
}
