package gemhook

import "testing"

// eventKey runs on every delivery. Only video events allocate, for the
// key they build ("operations/" + id); TestEventKeyAllocs holds the others
// to none.
func BenchmarkEventKey(b *testing.B) {
	evs := []*Event{
		{Type: "batch.succeeded", Resource: "batches/abc123"},
		{Type: "interaction.requires_action", Resource: "interactions/v1_abc"},
		{Type: "video.generated", Resource: "models/veo-3/operations/op123"},
		{Type: "batch.running", Resource: "batches/abc123"},
		{Type: "webhook.ping", Resource: "hook"},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _, _ = eventKey(evs[i%len(evs)])
	}
}
