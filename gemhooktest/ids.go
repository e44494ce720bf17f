package gemhooktest

import (
	"crypto/rand"
	"fmt"

	"github.com/gemhook/gemhook/internal/signature"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomID returns n lower-case letters and digits, the alphabet of
// Gemini's ids (and the one genai's file-id parser expects).
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// messageID returns a webhook-id in the form seen on live deliveries:
// "msg_" and a version 4 UUID.
func messageID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("msg_%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// newSecret returns a signing secret as Gemini issues them: "whsec_" and
// 32 random bytes in padded standard base64.
func newSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return signature.EncodeSecret(key)
}
