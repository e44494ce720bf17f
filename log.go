package gemhook

import "log/slog"

const (
	slogWarn  = slog.LevelWarn
	slogError = slog.LevelError
)

func attrErr(err error) slog.Attr  { return slog.String("err", err.Error()) }
func attrPath(p string) slog.Attr  { return slog.String("path", p) }
func attrID(id string) slog.Attr   { return slog.String("webhook_id", id) }
func attrStack(b []byte) slog.Attr { return slog.String("stack", string(b)) }
