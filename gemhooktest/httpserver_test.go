package gemhooktest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gemhook/gemhook"
)

// newHTTPServer serves the Receiver that get returns once it is built.
func newHTTPServer(t *testing.T, get func() *gemhook.Receiver) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		get().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}
