package gemhook

import "log/slog"

const slogWarn = slog.LevelWarn

func attrErr(err error) slog.Attr { return slog.String("err", err.Error()) }
func attrPath(p string) slog.Attr { return slog.String("path", p) }
