package gemhook

import (
	"errors"
	"testing"
	"time"
)

// NewReceiver refuses what New would: negative values and bad URLs are
// ErrInvalidConfig, not silently the defaults.
func TestNewReceiverRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]ReceiverConfig{
		"negative tolerance": {Tolerance: -time.Second},
		"negative body cap":  {MaxBodyBytes: -1},
		"relative JWKS URL":  {JWKSURL: "/jwks.json"},
		"ftp JWKS URL":       {JWKSURL: "ftp://keys.example/jwks.json"},
	} {
		if r, err := NewReceiver(cfg); !errors.Is(err, ErrInvalidConfig) {
			if r != nil {
				r.Close()
			}
			t.Errorf("%s: NewReceiver = %v, want ErrInvalidConfig", name, err)
		}
	}
}
