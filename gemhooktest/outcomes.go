package gemhooktest

import "strings"

// MixedOutcome is an Options.Outcome that ends about seven jobs in ten in
// success and the rest in each way the job's kind can fail (failed,
// expired, cancelled, requires_action), chosen by a hash of the name, so
// that a run is reproducible and a test sees every outcome.
func MixedOutcome(name string) string {
	h := 0
	for _, b := range []byte(name) {
		h = h*31 + int(b)
	}
	if h < 0 {
		h = -h
	}
	switch h % 10 {
	case 0:
		return Failed
	case 1:
		switch {
		case !strings.Contains(name, "/"), strings.HasPrefix(name, "interactions/"):
			// The emulator names interactions by a bare id, as Gemini does.
			return RequiresAction
		case strings.HasPrefix(name, "batches/"):
			return Expired
		}
		return Failed
	case 2:
		if !strings.Contains(name, "/operations/") {
			return Cancelled
		}
	}
	return Succeeded
}
