package gemhooktest

import (
	"encoding/base64"
	"net/url"
	"strconv"
)

// Page sizes of the list calls.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// pageArgs reads a page size and an opaque page token (the sequence number
// of the last item of the previous page).
func pageArgs(q url.Values, sizeKey, tokenKey string) (size int, after uint64, err error) {
	size = defaultPageSize
	if v := q.Get(sizeKey); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, invalidArgument("%s must be a non-negative integer, got %q", sizeKey, v)
		}
		if n > 0 {
			size = min(n, maxPageSize)
		}
	}
	if v := q.Get(tokenKey); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err == nil {
			after, err = strconv.ParseUint(string(raw), 10, 64)
		}
		if err != nil || after == 0 {
			return 0, 0, invalidArgument("%s is not a token this server issued", tokenKey)
		}
	}
	return size, after, nil
}

func pageToken(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(seq, 10)))
}
