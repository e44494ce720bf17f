package gemhooktest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/genai"
)

// Server is an offline Gemini Developer API: the real genai client, pointed
// at URL, creates batches, videos and background interactions on it and
// manages webhooks, and the Server delivers signed webhook events when the
// jobs end. It listens on loopback; Close stops it.
type Server struct {
	URL     string // base URL for genai's HTTPOptions.BaseURL, e.g. "http://127.0.0.1:40829"
	JWKSURL string // URL of the key set that signs per-request deliveries

	opts   Options
	now    func() time.Time
	keys   *keyRing
	log    *deliveryLog
	sched  *scheduler
	client *http.Client
	srv    *http.Server
	ln     net.Listener

	ctx    context.Context // cancelled by Close; bounds deliveries and waiting handlers
	cancel context.CancelFunc
	served chan struct{} // closed when the serve goroutine returns
	once   sync.Once

	mu      sync.Mutex // guards everything below
	closed  bool
	rng     *rand.Rand // fault draws, in the order jobs are created and end
	sendRNG *rand.Rand // draws of delivery attempts (signing key, retry jitter)
	jobs    map[string]*job
	jobSeq  uint64
	hooks   map[string]*webhook
	hookSeq uint64
	calls   Calls
}

// NewServer starts a Server on loopback (or Options.Addr). It panics if it
// cannot listen, as httptest.NewServer does; use Start to get the error.
func NewServer(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic("gemhooktest: " + err.Error())
	}
	return s
}

// Start is NewServer that returns an error instead of panicking.
func Start(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	switch opts.VideoFileField {
	case "", VideoURIOnly, OutputFileURIOnly:
	default:
		return nil, fmt.Errorf("Options.VideoFileField %q: want \"\", %q or %q", opts.VideoFileField, VideoURIOnly, OutputFileURIOnly)
	}
	for _, f := range []struct {
		name string
		rate float64
	}{{"DropRate", opts.Faults.DropRate}, {"EarlyRate", opts.Faults.EarlyRate}} {
		if !(f.rate >= 0 && f.rate <= 1) { // NaN too
			return nil, fmt.Errorf("Options.Faults.%s %v: want a share between 0 and 1", f.name, f.rate)
		}
	}
	keys, err := newKeyRing(opts.JWS)
	if err != nil {
		return nil, fmt.Errorf("generating keys: %w", err)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	seed := uint64(opts.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	tr := opts.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:               nil, // deliveries go where they are addressed, never through a proxy
			DialContext:         (&net.Dialer{Timeout: opts.AttemptTimeout}).DialContext,
			MaxIdleConnsPerHost: opts.Workers,
			IdleConnTimeout:     30 * time.Second,
		}
	}
	s := &Server{
		opts: opts,
		now:  opts.Now,
		keys: keys,
		log:  newDeliveryLog(opts.LogSize),
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		ln: ln,
		// Two streams, so that faults drawn when events are emitted do not
		// depend on how many attempts ran in between, which varies.
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		sendRNG: rand.New(rand.NewPCG(seed^0x6a09e667f3bcc909, seed)),
		jobs:    map[string]*job{},
		hooks:   map[string]*webhook{},
		calls:   Calls{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.URL = "http://" + ln.Addr().String()
	s.JWKSURL = s.URL + JWKSPath
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	s.sched = newScheduler(opts.Workers, opts.MaxPending, s.deliver)
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the Server: it stops listening, abandons queued deliveries,
// cancels attempts in flight and waits for every goroutine it started.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		// Handlers finish promptly once ctx is cancelled (only an early
		// delivery makes one wait). The bound is short because Shutdown
		// counts a connection that was dialed but never used as busy for
		// five seconds; Close then drops whatever is left.
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		_ = s.srv.Shutdown(ctx)
		cancel()
		_ = s.srv.Close()
		<-s.served
		s.sched.close()
		if c, ok := s.client.Transport.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	})
}

// ClientConfig returns a genai client configuration for this Server: the
// Gemini Developer API backend, its URL as the base URL, and its API key
// (or a fake one). All three are explicit, so genai's environment
// variables (GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_API_KEY, ...) change none of
// them and tests need not clear them.
func (s *Server) ClientConfig() *genai.ClientConfig {
	key := s.opts.APIKey
	if key == "" {
		key = "gemhooktest-key"
	}
	return &genai.ClientConfig{
		APIKey:      key,
		Backend:     genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: s.URL, APIVersion: "v1beta"},
	}
}

// ServeHTTP serves the API under /v1beta, /v1 and /v1alpha, the key set
// at JWKSPath and, with Options.Control, the control API at ControlPath.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == JWKSPath && r.Method == http.MethodGet {
		s.keys.serve(w)
		return
	}
	if s.opts.Control && strings.HasPrefix(r.URL.Path, ControlPath) {
		s.serveControl(w, r)
		return
	}
	rt, arg := findRoute(r.Method, r.URL.Path)
	op := "unknown"
	if rt != nil {
		op = rt.op
	}
	s.mu.Lock()
	s.calls[op]++
	s.mu.Unlock()
	if rt == nil {
		writeError(w, notFound("gemhooktest: no route for %s %s", r.Method, r.URL.Path))
		return
	}
	fail := writeError
	if strings.HasPrefix(op, "interactions.") {
		fail = writeInteractionError
	}
	if e := s.checkKey(r); e != nil {
		fail(w, e)
		return
	}
	v, err := rt.serve(s, r, arg)
	if err != nil {
		var e *apiError
		if !errors.As(err, &e) {
			e = &apiError{Code: http.StatusInternalServerError, Message: err.Error(), Status: "INTERNAL"}
		}
		fail(w, e)
		return
	}
	if raw, ok := v.(rawBody); ok {
		w.Header().Set("Content-Type", raw.contentType)
		_, _ = w.Write(raw.body)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// rawBody is a handler result sent as it is (file downloads).
type rawBody struct {
	contentType string
	body        []byte
}

// checkKey answers as Gemini does: no key is 403 PERMISSION_DENIED, a
// wrong one 400 INVALID_ARGUMENT with reason API_KEY_INVALID.
func (s *Server) checkKey(r *http.Request) *apiError {
	if s.opts.APIKey == "" {
		return nil
	}
	got := r.Header.Get("x-goog-api-key")
	if got == "" {
		return &apiError{Code: http.StatusForbidden, Message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", Status: "PERMISSION_DENIED"}
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.APIKey)) != 1 {
		return invalidArgument("API key not valid. Please pass a valid API key.")
	}
	return nil
}

// route is one API call: the method, the path after the version, the
// operation's name in Calls, and its handler.
//
// A pattern is matched byte for byte, except that '*' stands for one or
// more bytes other than '/' and ':', an id: Gemini's ids hold neither, and
// ':' starts a custom method such as ":cancel". The handler gets the text
// between the braces, if any (the notation of Google's HTTP rules,
// {name=batches/*}, less the name).
type route struct {
	method, pattern, op string
	serve               func(s *Server, r *http.Request, arg string) (any, error)
}

var routes = [...]route{
	{http.MethodPost, "models/{*}:batchGenerateContent", "batches.create", (*Server).createBatch},
	{http.MethodPost, "models/{*}:predictLongRunning", "videos.create", (*Server).createVideo},
	{http.MethodGet, "{models/*/operations/*}", "operations.get", (*Server).getOperation},
	{http.MethodGet, "batches", "batches.list", (*Server).listBatches},
	{http.MethodGet, "{batches/*}", "batches.get", (*Server).getBatch},
	{http.MethodDelete, "{batches/*}", "batches.delete", (*Server).deleteBatch},
	{http.MethodPost, "{batches/*}:cancel", "batches.cancel", (*Server).cancelBatch},
	{http.MethodPost, "interactions", "interactions.create", (*Server).createInteraction},
	{http.MethodGet, "interactions/{*}", "interactions.get", (*Server).getInteraction},
	{http.MethodDelete, "interactions/{*}", "interactions.delete", (*Server).deleteInteraction},
	{http.MethodPost, "interactions/{*}/cancel", "interactions.cancel", (*Server).cancelInteraction},
	{http.MethodPost, "webhooks", "webhooks.create", (*Server).createWebhook},
	{http.MethodGet, "webhooks", "webhooks.list", (*Server).listWebhooks},
	{http.MethodGet, "webhooks/{*}", "webhooks.get", (*Server).getWebhook},
	{http.MethodPatch, "webhooks/{*}", "webhooks.update", (*Server).updateWebhook},
	{http.MethodDelete, "webhooks/{*}", "webhooks.delete", (*Server).deleteWebhook},
	{http.MethodPost, "webhooks/{*}:ping", "webhooks.ping", (*Server).pingWebhook},
	{http.MethodPost, "webhooks/{*}:rotateSigningSecret", "webhooks.rotate", (*Server).rotateWebhook},
	// The guide's curl samples rotate at /webhooks/{id}/rotate_secret.
	{http.MethodPost, "webhooks/{*}/rotate_secret", "webhooks.rotate", (*Server).rotateWebhook},
	{http.MethodGet, "files/{*}:download", "files.download", (*Server).downloadFile},
}

// findRoute returns the route for a request and the text its pattern's
// braces enclose, or nil.
func findRoute(method, path string) (*route, string) {
	rest, ok := trimVersion(path)
	if !ok {
		return nil, ""
	}
	for i := range routes {
		if routes[i].method != method {
			continue
		}
		if arg, ok := match(routes[i].pattern, rest); ok {
			return &routes[i], arg
		}
	}
	return nil, ""
}

// match reports whether path fits pattern (see route) and returns the
// text between the braces.
func match(pattern, path string) (string, bool) {
	var from, to, i int
	for _, c := range []byte(pattern) {
		switch c {
		case '{':
			from = i
		case '}':
			to = i
		case '*':
			n := i
			for n < len(path) && path[n] != '/' && path[n] != ':' {
				n++
			}
			if n == i {
				return "", false
			}
			i = n
		default:
			if i == len(path) || path[i] != c {
				return "", false
			}
			i++
		}
	}
	return path[from:to], i == len(path)
}

func trimVersion(path string) (string, bool) {
	for _, v := range []string{"/v1beta/", "/v1/", "/v1alpha/"} {
		if rest, ok := strings.CutPrefix(path, v); ok {
			return rest, rest != ""
		}
	}
	return "", false
}

// decodeBody reads a JSON request body into v. An empty body decodes as {}.
func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, DefaultMaxBodyBytes+1))
	if err != nil {
		return invalidArgument("reading the request body: %v", err)
	}
	if len(body) > DefaultMaxBodyBytes {
		return &apiError{Code: http.StatusRequestEntityTooLarge, Message: "Request payload size exceeds the limit.", Status: "INVALID_ARGUMENT"}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalidArgument("Invalid JSON payload received. %v", err)
	}
	return nil
}

// timestamp formats t as Gemini does: RFC 3339 in UTC.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
