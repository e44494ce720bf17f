// Package signature parses and produces the Standard Webhooks headers that
// Gemini puts on every delivery: webhook-id, webhook-timestamp and the
// webhook-signature list. It knows nothing about HTTP or events; the root
// package and the emulator both build on it, so that what one signs the
// other verifies byte for byte.
package signature
