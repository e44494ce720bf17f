package gemhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary headers and bodies to Verify. Properties:
// it never panics; whatever it accepts carries, in webhook-signature, the
// v1 MAC of id.ts.body computed independently; and the same inputs signed
// correctly are accepted exactly when id, timestamp and body are valid.
func FuzzVerify(f *testing.F) {
	sig := refSign(f, vecSecret, vecID, vecTS, []byte(vecBody))
	f.Add(vecID, vecTS, sig, []byte(vecBody))
	f.Add(vecID, vecTS, "v1a,"+strings.Repeat("A", 86)+"== "+sig, []byte(vecBody))
	f.Add("a.b", vecTS, sig, []byte(vecBody))
	f.Add(vecID, "+1614265330", sig, []byte(vecBody))
	f.Add(vecID, "1614265031", "v1,", []byte(`{"type":"batch.failed","data":{"id":"x","error_code":5}}`))
	f.Add("", "", "", []byte(nil))
	f.Add(vecID, vecTS, "v1,"+strings.Repeat("A", 44), []byte(vecBody)) // unpadded full length: once a crash
	f.Add(vecID, vecTS, strings.Repeat("v1,x ", 17), []byte("[]"))
	// Verify remembers nothing, so one Receiver serves every input.
	r, err := NewReceiver(ReceiverConfig{
		Secrets: []string{vecSecret},
		Now:     func() time.Time { return vecTime },
		JWKSURL: "http://127.0.0.1:1/jwks.json",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close() })
	f.Fuzz(func(t *testing.T, id, ts, sigHeader string, body []byte) {
		hdr := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {sigHeader}}
		ev, err := r.Verify(context.Background(), hdr, body)
		right := refSign(t, vecSecret, id, ts, body)
		if err == nil {
			if !strings.Contains(" "+strings.Join(strings.Fields(sigHeader), " ")+" ", " "+right+" ") {
				t.Fatalf("accepted without the right MAC: id %q ts %q sig %q", id, ts, sigHeader)
			}
			if ev == nil || ev.ID != id || ev.Scheme != "v1" {
				t.Fatalf("accepted with event %+v", ev)
			}
		}
		hdr.Set("Webhook-Signature", right)
		_, err = r.Verify(context.Background(), hdr, body)
		want := validID(id) && validTS(ts) && isObject(body)
		if (err == nil) != want {
			t.Fatalf("correctly signed id %q ts %q body %.40q: err %v, want success %v", id, ts, body, err, want)
		}
		if err != nil && !knownError(err) {
			t.Fatalf("error %v wraps none of the sentinels", err)
		}
	})
}

// The expectations of FuzzVerify, written from the specification rather
// than from internal/signature.
func validID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for _, c := range []byte(id) {
		if c == '.' || c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func validTS(ts string) bool {
	if ts == "" || ts[0] == '0' || strings.TrimLeft(ts, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	return err == nil && n >= vecTime.Unix()-300 && n <= vecTime.Unix()+300
}

func isObject(body []byte) bool {
	trimmed := strings.TrimLeft(string(body), " \t\r\n")
	return json.Valid(body) && strings.HasPrefix(trimmed, "{")
}

func knownError(err error) bool {
	for _, s := range []error{ErrMissingHeader, ErrInvalidHeader, ErrInvalidTimestamp, ErrTimestampTooOld,
		ErrTimestampTooNew, ErrNoMatchingSignature, ErrKeysUnavailable, ErrPayloadTooLarge, ErrMalformedEvent} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
