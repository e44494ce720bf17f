package gemhooktest

import "fmt"

// maxJobURIs bounds the per-request webhook URIs of one job.
const maxJobURIs = 10

// webhookConfig is a job's per-request webhook config. The batch and video
// endpoints speak proto-JSON (camelCase, snake_case also accepted); the
// interactions endpoint speaks snake_case.
type webhookConfig struct {
	Uris              []string       `json:"uris"`
	UserMetadata      map[string]any `json:"userMetadata"`
	UserMetadataSnake map[string]any `json:"user_metadata"`
}

func (c *webhookConfig) metadata() map[string]any {
	if c == nil {
		return nil
	}
	if c.UserMetadata != nil {
		return c.UserMetadata
	}
	return c.UserMetadataSnake
}

// check refuses URIs Gemini could not deliver to.
func (c *webhookConfig) check(field string) error {
	if c == nil {
		return nil
	}
	if len(c.Uris) > maxJobURIs {
		return invalidArgument("%s.uris: at most %d URIs", field, maxJobURIs)
	}
	for _, u := range c.Uris {
		if err := checkHookURI(u); err != nil {
			return invalidArgument("%s.uris: %s", field, err.(*apiError).Message)
		}
	}
	return nil
}

// refuseMetadata answers a config with user metadata, even an empty one,
// in the words of the Batch API's refusal (go-genai issue 779).
func (c *webhookConfig) refuseMetadata() error {
	if c == nil {
		return nil
	}
	field := ""
	switch {
	case c.UserMetadata != nil:
		field = "userMetadata"
	case c.UserMetadataSnake != nil:
		field = "user_metadata"
	default:
		return nil
	}
	msg := fmt.Sprintf("Invalid JSON payload received. Unknown name %q at 'batch.webhook_config': Cannot find field.", field)
	e := invalidArgument("%s", msg)
	e.Details = []map[string]any{{
		"@type":           "type.googleapis.com/google.rpc.BadRequest",
		"fieldViolations": []map[string]any{{"field": "batch.webhook_config", "description": msg}},
	}}
	return e
}

func (c *webhookConfig) uris() []string {
	if c == nil {
		return nil
	}
	return append([]string(nil), c.Uris...)
}

// wireConfig is a webhook config echoed on a resource, in the casing of its
// API.
type wireConfig struct {
	Uris         []string       `json:"uris,omitempty"`
	UserMetadata map[string]any `json:"user_metadata,omitempty"`
}
