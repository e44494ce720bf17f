package gemhook

import (
	"context"
	"io"
	"log"

	"google.golang.org/genai"
)

// genai v1.77 writes, once per process and through the standard logger,
// that GenerateVideosFromSource "will be renamed to GenerateVideos()" (the
// legacy GenerateVideos logs its own deprecation instead). GenerateVideos
// here calls it, and the rename is genai's business, not a line for
// gemhook users' logs: use up that once here, while nothing else runs,
// with the log discarded. The call returns before any request: a nil
// source is refused first.
func init() {
	w := log.Writer()
	log.SetOutput(io.Discard)
	_, _ = genai.Models{}.GenerateVideosFromSource(context.Background(), "", nil, nil)
	log.SetOutput(w)
}
