package gemhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A delivery as the test builds it: headers, body, and the configuration
// of the receiver it is sent to.
type delivery struct {
	hdr  http.Header
	body []byte
	cfg  ReceiverConfig
}

func vector(t testing.TB) delivery {
	return delivery{hdr: signedHeader(t, vecSecret, vecID, vecTS, []byte(vecBody)), body: []byte(vecBody)}
}

// signedAt is the vector body signed with webhook-timestamp ts.
func signedAt(t testing.TB, ts string) delivery {
	return delivery{hdr: signedHeader(t, vecSecret, vecID, ts, []byte(vecBody)), body: []byte(vecBody)}
}

func with(d delivery, f func(*delivery)) delivery { f(&d); return d }

func randB64(t testing.TB, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

const genericBodies = "unauthorized\nbad request\npayload too large\nunavailable\nmethod not allowed\nunsupported media type\n"

// check sends d to Verify and to ServeHTTP on a fresh receiver and asserts
// the outcome and its side effects.
func check(t *testing.T, d delivery, status int, want error) {
	t.Helper()
	h := newHarness(t, d.cfg)
	ev, err := h.r.Verify(context.Background(), d.hdr, d.body)
	switch {
	case want == nil && err != nil:
		t.Fatalf("Verify: %v, want success", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("Verify: %v, want %v", err, want)
	case want != nil && ev != nil:
		t.Fatalf("Verify returned an event with an error")
	}
	if h.r.seen.Len() != 0 || h.store.delivered.Load() != 0 {
		t.Fatal("Verify is not pure: it deduped or dispatched")
	}
	rec := h.post(d.hdr, d.body)
	if rec.Code != status {
		t.Fatalf("status %d, want %d (body %q)", rec.Code, status, rec.Body)
	}
	if status/100 == 2 {
		h.acceptedOnce(t)
		return
	}
	h.untouched(t)
	// H-k: a rejection says nothing about what was expected.
	body := rec.Body.String()
	if !strings.Contains(genericBodies, body) {
		t.Errorf("error body %q is not one of the generic ones", body)
	}
	for _, s := range d.hdr.Values("Webhook-Signature") {
		if s != "" && strings.Contains(body, s) {
			t.Errorf("error body echoes the signature header")
		}
	}
	right := refSign(t, vecSecret, d.hdr.Get("Webhook-Id"), d.hdr.Get("Webhook-Timestamp"), d.body)
	if strings.Contains(body, right[3:]) || strings.Contains(body, vecSecret[6:]) {
		t.Errorf("error body leaks the expected signature or the secret")
	}
}

func TestStandardWebhooksCases(t *testing.T) {
	t.Parallel()
	tooOld := strconv.FormatInt(vecTime.Unix()-301, 10)
	tooNew := strconv.FormatInt(vecTime.Unix()+301, 10)
	edgeOld := strconv.FormatInt(vecTime.Unix()-300, 10)
	edgeNew := strconv.FormatInt(vecTime.Unix()+300, 10)
	wrong := "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
	newSecret := "whsec_" + randB64(t, 32)

	type tc struct {
		id     string
		d      delivery
		status int
		err    error
	}
	var cases []tc
	add := func(id string, d delivery, status int, err error) {
		cases = append(cases, tc{id, d, status, err})
	}

	add("S-1 vector", vector(t), 204, nil)
	add("S-2 no webhook-id", with(vector(t), func(d *delivery) { d.hdr.Del("Webhook-Id") }), 400, ErrMissingHeader)
	add("S-3 no webhook-timestamp", with(vector(t), func(d *delivery) { d.hdr.Del("Webhook-Timestamp") }), 400, ErrMissingHeader)
	add("S-4 no webhook-signature", with(vector(t), func(d *delivery) { d.hdr.Del("Webhook-Signature") }), 401, ErrMissingHeader)
	add("S-4 empty webhook-signature", with(vector(t), func(d *delivery) { d.hdr.Set("Webhook-Signature", "  ") }), 401, ErrMissingHeader)
	add("S-5 timestamp hello", with(vector(t), func(d *delivery) { d.hdr.Set("Webhook-Timestamp", "hello") }), 400, ErrInvalidTimestamp)
	// Signed over the non-canonical text itself, so that only strict
	// parsing can refuse them.
	for _, ts := range []string{"+1614265330", "01614265330", " 1614265330", "1614265330 ", "1614265330.0", "-1", "99999999999999999999", "1.614265330e9", ""} {
		add("S-6 timestamp "+strconv.Quote(ts), signedAt(t, ts), 400, ErrInvalidTimestamp)
	}
	add("S-7 301 s old", signedAt(t, tooOld), 401, ErrTimestampTooOld)
	add("S-8 301 s ahead", signedAt(t, tooNew), 401, ErrTimestampTooNew)
	add("S-9 300 s old", signedAt(t, edgeOld), 204, nil)
	add("S-9 300 s ahead", signedAt(t, edgeNew), 204, nil)
	add("S-10 timestamp swapped, clock there", with(vector(t), func(d *delivery) {
		d.hdr.Set("Webhook-Timestamp", "946684800")
		d.cfg.Now = func() time.Time { return time.Unix(946684800, 0) }
	}), 401, ErrNoMatchingSignature)
	add("S-10 timestamp swapped", with(vector(t), func(d *delivery) { d.hdr.Set("Webhook-Timestamp", "946684800") }), 401, ErrTimestampTooOld)
	add("S-11 one byte changed", with(vector(t), func(d *delivery) { d.body = []byte(`{"test": 2432232315}`) }), 401, ErrNoMatchingSignature)
	add("S-11 trailing newline", with(vector(t), func(d *delivery) { d.body = []byte(vecBody + "\n") }), 401, ErrNoMatchingSignature)
	add("S-11 re-serialized", with(vector(t), func(d *delivery) { d.body = []byte(`{"test":2432232314}`) }), 401, ErrNoMatchingSignature)
	for _, sig := range []string{"v1,", "v1,g0hM9", "v1,dawfeoifkpqwoekfpqoekf", "invalid_signature", "v1,invalid_signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLawdd", ",", "v1," + strings.Repeat("A", 44), "v1," + strings.Repeat("/", 43) + "=", "v1," + strings.Repeat("A", 42) + "=="} {
		add("S-12 "+sig[:min(len(sig), 20)], with(vector(t), func(d *delivery) { d.hdr.Set("Webhook-Signature", sig) }), 401, ErrNoMatchingSignature)
	}
	add("S-13 right MAC, version v2", with(vector(t), func(d *delivery) {
		d.hdr.Set("Webhook-Signature", "v2,"+d.hdr.Get("Webhook-Signature")[3:])
	}), 401, ErrNoMatchingSignature)
	add("S-14 multi-signature", with(vector(t), func(d *delivery) {
		wrong2 := "v2," + wrong[3:]
		d.hdr.Set("Webhook-Signature", wrong+" "+wrong2+" "+d.hdr.Get("Webhook-Signature")+" "+wrong)
	}), 204, nil)
	add("S-15 v1a entry beside a valid v1", with(vector(t), func(d *delivery) {
		d.hdr.Set("Webhook-Signature", "v1a,"+randB64(t, 64)+" "+d.hdr.Get("Webhook-Signature"))
	}), 204, nil)
	add("S-16 three wrong v1", with(vector(t), func(d *delivery) {
		d.hdr.Set("Webhook-Signature", "v1,"+randB64(t, 32)+" v1,"+randB64(t, 32)+" v1,"+randB64(t, 32))
	}), 401, ErrNoMatchingSignature)
	add("S-17 ten thousand entries", with(vector(t), func(d *delivery) {
		d.hdr.Set("Webhook-Signature", strings.Repeat(wrong+" ", 10000)+d.hdr.Get("Webhook-Signature"))
	}), 400, ErrInvalidHeader)
	add("S-17 64 KiB of spaces", with(vector(t), func(d *delivery) {
		d.hdr.Set("Webhook-Signature", strings.Repeat(" ", 64<<10)+d.hdr.Get("Webhook-Signature"))
	}), 400, ErrInvalidHeader)
	add("S-17 seventeen short entries, valid last", with(vector(t), func(d *delivery) {
		d.hdr.Set("Webhook-Signature", strings.Repeat("v1,x ", 16)+d.hdr.Get("Webhook-Signature"))
	}), 400, ErrInvalidHeader)
	add("S-19 unpadded secret", func() delivery {
		s := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfK"
		return delivery{hdr: signedHeader(t, s, vecID, vecTS, []byte(vecBody)), body: []byte(vecBody), cfg: ReceiverConfig{Secrets: []string{s}}}
	}(), 204, nil)
	add("S-19 unpadded secret, padded key signed", with(vector(t), func(d *delivery) {
		d.cfg.Secrets = []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfK"} // 26 bytes: not the vector's 24-byte key
	}), 401, ErrNoMatchingSignature)
	for _, id := range []string{"a.b", strings.Repeat("x", 257), "a\x01b", "a b", "a\x7fb"} {
		add("S-20 id "+strconv.Quote(id[:min(len(id), 8)]), delivery{hdr: signedHeader(t, vecSecret, id, vecTS, []byte(vecBody)), body: []byte(vecBody)}, 400, ErrInvalidHeader)
	}
	add("S-20 empty id", with(vector(t), func(d *delivery) { d.hdr.Set("Webhook-Id", "") }), 400, ErrInvalidHeader)
	add("S-21 mixed-case names", with(vector(t), func(d *delivery) {
		d.hdr = http.Header{
			"Content-Type":      {"application/json"},
			"Webhook-Id":        {vecID},
			"WEBHOOK-TIMESTAMP": {vecTS},
			"webhook-SIGNATURE": d.hdr.Values("Webhook-Signature"),
		}
	}), 204, nil)
	add("S-22 two signature headers", with(vector(t), func(d *delivery) {
		d.hdr.Add("Webhook-Signature", d.hdr.Get("Webhook-Signature"))
	}), 400, ErrInvalidHeader)
	add("S-22 two ids", with(vector(t), func(d *delivery) { d.hdr.Add("Webhook-Id", "msg_other") }), 400, ErrInvalidHeader)
	add("S-22 two ids, one lower-case", with(vector(t), func(d *delivery) {
		d.hdr = http.Header{
			"Content-Type":      {"application/json"},
			"webhook-id":        {vecID},
			"WEBHOOK-ID":        {"msg_other"},
			"Webhook-Timestamp": {vecTS},
			"Webhook-Signature": d.hdr.Values("Webhook-Signature"),
		}
	}), 400, ErrInvalidHeader)
	// A hand-built map can hold a header under its canonical name and
	// another spelling; http.Header's lookups see only the first.
	for _, name := range []string{"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"} {
		add("S-22 "+name+" under two spellings", with(vector(t), func(d *delivery) {
			d.hdr[strings.ToLower(name)] = d.hdr.Values(name)
		}), 400, ErrInvalidHeader)
	}
	add("S-22 Webhook-Id with no values beside webhook-id", with(vector(t), func(d *delivery) {
		d.hdr["Webhook-Id"] = []string{}
		d.hdr["webhook-id"] = []string{vecID}
	}), 204, nil)
	add("S-23 old secret during rotation", with(vector(t), func(d *delivery) { d.cfg.Secrets = []string{newSecret, vecSecret} }), 204, nil)
	add("S-23 old secret after rotation", with(vector(t), func(d *delivery) { d.cfg.Secrets = []string{newSecret} }), 401, ErrNoMatchingSignature)
	add("no project secrets", with(vector(t), func(d *delivery) { d.cfg.Secrets = []string{} }), 401, ErrNoMatchingSignature)

	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) { check(t, c.d, c.status, c.err) })
	}
}

// S-1, checked further: the event is the vector's, and the scheme is v1.
func TestVectorEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ReceiverConfig{})
	d := vector(t)
	ev, err := h.r.Verify(context.Background(), d.hdr, d.body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != vecID || ev.Scheme != "v1" || string(ev.Raw) != vecBody || ev.Type != "" {
		t.Fatalf("event %+v", ev)
	}
}

// S-18: secrets that cannot be keys are refused when the Receiver is made.
func TestBadSecretsRefused(t *testing.T) {
	t.Parallel()
	short := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)) // Standard Webhooks: 24 to 64 bytes
	for _, s := range []string{"", "whsec_", "whsec_!!!", "   ", "whsec_ab$d", "whsec_====", "whsec_a", "whsec_AAAAAAAA", short} {
		r, err := NewReceiver(ReceiverConfig{Secrets: []string{vecSecret, s}, JWKSURL: "http://127.0.0.1:1/"})
		if !errors.Is(err, ErrInvalidSecret) || r != nil {
			t.Errorf("NewReceiver(%q) = %v, %v; want ErrInvalidSecret", s, r, err)
		}
		if r != nil {
			r.Close()
		}
		if err != nil && strings.Contains(err.Error(), vecSecret) {
			t.Errorf("error %q quotes a secret", err)
		}
	}
}

// Every accepted spelling of one secret verifies the same signatures.
func TestSecretForms(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	rand.Read(key)
	padded := base64.StdEncoding.EncodeToString(key) // 32 bytes: one '='
	raw := base64.RawStdEncoding.EncodeToString(key)
	if padded == raw {
		t.Fatal("test key needs padding")
	}
	canonical := "whsec_" + padded
	body := []byte(eventBody)
	for _, form := range []string{canonical, padded, "whsec_" + raw, raw, " " + canonical + "\n"} {
		t.Run(strconv.Quote(form[:10]), func(t *testing.T) {
			d := delivery{hdr: signedHeader(t, canonical, vecID, vecTS, body), body: body, cfg: ReceiverConfig{Secrets: []string{form}}}
			check(t, d, 204, nil)
		})
	}
}

// The unpadded vector secret decodes to the key Python's standardwebhooks
// derives (computed there: base64.b64decode(s + "=")).
func TestUnpaddedSecretKey(t *testing.T) {
	t.Parallel()
	const fromPython = "31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b031f2"
	k, err := decodeSecret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfK")
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(k); got != fromPython {
		t.Fatalf("key %s, want %s", got, fromPython)
	}
}

// The window is measured from the clock's exact time, as in the reference
// libraries, not from its whole second; a tolerance that is not a whole
// number of seconds is kept as it is.
func TestTimestampWindowSubSecond(t *testing.T) {
	t.Parallel()
	half := 500 * time.Millisecond
	sec := func(d int64) string { return strconv.FormatInt(vecTime.Unix()+d, 10) }
	for _, c := range []struct {
		name      string
		now       time.Time
		tolerance time.Duration
		ts        string
		err       error
	}{
		{"300.5 s old", vecTime.Add(half), 0, sec(-300), ErrTimestampTooOld},
		{"299.5 s old", vecTime.Add(half), 0, sec(-299), nil},
		{"299.5 s ahead", vecTime.Add(half), 0, sec(300), nil},
		{"300.5 s ahead", vecTime.Add(-half), 0, sec(300), ErrTimestampTooNew},
		{"1 s ahead, 1.5 s tolerance", vecTime, 3 * half, sec(1), nil},
		{"2 s ahead, 1.5 s tolerance", vecTime.Add(half), 3 * half, sec(2), nil},
		{"2 s old, 1.5 s tolerance", vecTime, 3 * half, sec(-2), ErrTimestampTooOld},
		{"largest timestamp", vecTime, 0, "9223372036854775807", ErrTimestampTooNew},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, ReceiverConfig{Now: func() time.Time { return c.now }, Tolerance: c.tolerance})
			hdr := signedHeader(t, vecSecret, vecID, c.ts, []byte(vecBody))
			if _, err := h.r.Verify(context.Background(), hdr, []byte(vecBody)); !errors.Is(err, c.err) {
				t.Fatalf("Verify: %v, want %v", err, c.err)
			}
		})
	}
}
