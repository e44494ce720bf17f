package gemhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"google.golang.org/genai"
)

// maxErrorBody bounds what batchError reads of a batch operation.
const maxErrorBody = 1 << 20

// batchError reads a failed batch's error from the API. Gemini returns it
// as the operation's "error", but genai's conversion for the Gemini API
// drops it, so a job settled by poll or attach would have no code or
// message. It is best effort: nil when the operation cannot be read.
func batchError(ctx context.Context, gc *genai.Client, name string) *genai.JobError {
	cfg := gc.ClientConfig()
	if cfg.HTTPClient == nil || cfg.HTTPOptions.BaseURL == "" {
		return nil
	}
	url := strings.TrimSuffix(cfg.HTTPOptions.BaseURL, "/") + "/" + cfg.HTTPOptions.APIVersion + "/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	for k, vs := range cfg.HTTPOptions.Headers {
		req.Header[k] = append([]string(nil), vs...)
	}
	if cfg.APIKey != "" {
		req.Header.Set("x-goog-api-key", cfg.APIKey)
	}
	res, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return nil
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil
	}
	var op struct {
		Error *genai.JobError `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(res.Body, maxErrorBody)).Decode(&op) != nil || op.Error == nil {
		return nil
	}
	if op.Error.Code == nil && op.Error.Message == "" {
		return nil
	}
	return op.Error
}
