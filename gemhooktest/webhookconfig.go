package gemhooktest

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
