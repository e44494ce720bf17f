package gemhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/genai"
)

// ErrInvalidArgument wraps every argument a call refuses before reaching
// Gemini: an empty model, a missing source, user metadata that does not
// encode as JSON, a job name of the wrong shape. The message says what to
// change.
var ErrInvalidArgument = errors.New("gemhook: invalid argument")

func invalidArg(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, a...)...)
}

// checkModel refuses an empty model: genai would build a request path
// without it, and Gemini would answer 404.
func checkModel(call, model string) error {
	if strings.TrimSpace(model) == "" {
		return invalidArg("%s: model is empty: pass one such as \"gemini-2.5-flash\"", call)
	}
	return nil
}

func checkBatchSource(src *genai.BatchJobSource) error {
	if src == nil || (src.FileName == "" && len(src.InlinedRequests) == 0 && len(src.GCSURI) == 0 &&
		src.BigqueryURI == "" && src.VertexDatasetName == "") {
		return invalidArg("SubmitBatch: the source is empty: set FileName (an uploaded JSONL file) or InlinedRequests")
	}
	if slices.Contains(src.InlinedRequests, nil) {
		return invalidArg("SubmitBatch: InlinedRequests holds a nil request")
	}
	return nil
}

func checkVideoSource(src *genai.GenerateVideosSource) error {
	if src == nil || (src.Prompt == "" && src.Image == nil && src.Video == nil) {
		return invalidArg("GenerateVideos: the source is empty: set Prompt, Image or Video")
	}
	return nil
}

// checkMetadata refuses user metadata that encoding/json cannot encode
// (NaN, ±Inf, channels, functions), naming the first key at fault: genai
// would otherwise send a broken request.
func checkMetadata(m map[string]any) error {
	if _, err := json.Marshal(m); err == nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, err := json.Marshal(m[k]); err != nil {
			return invalidArg("user metadata %q does not encode as JSON (%v): use strings, finite numbers, booleans, lists and maps", k, err)
		}
	}
	return invalidArg("user metadata does not encode as JSON")
}
