package raft

import (
	"context"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// hclogger feeds hashicorp/raft's logs into vipd's slog logger.
//
// raft is chatty: with a peer down it logs failed heartbeats and appends at
// Error several times a second, and every election at Warn. vipd logs what
// an operator needs (grant gained and lost, quorum lost) itself, so raft's
// Trace to Warn and its errors about unreachable peers go to Debug; its
// other errors (storage, snapshots) go to Warn. The few raft messages an
// operator needs to line up with what the node did next go to Info
// (operatorInfo).
type hclogger struct {
	base *slog.Logger // vipd's logger, narrowed to component=raft
	l    *slog.Logger // base, narrowed to this logger's name
	name string
	args []any
}

var _ hclog.Logger = (*hclogger)(nil)

func newHCLogger(l *slog.Logger) *hclogger {
	base := l.With("component", "raft")
	return &hclogger{base: base, l: base, name: "raft"}
}

func (h *hclogger) Log(level hclog.Level, msg string, args ...any) {
	lvl := slog.LevelDebug
	switch {
	case level >= hclog.Error && !peerNoise(msg):
		lvl = slog.LevelWarn
	case operatorInfo(msg):
		lvl = slog.LevelInfo
	}
	ctx := context.Background()
	if !h.l.Enabled(ctx, lvl) {
		return
	}
	all := make([]any, 0, len(h.args)+len(args))
	all = append(all, h.args...)
	all = append(all, args...)
	h.l.Log(ctx, lvl, msg, all...)
}

// operatorInfo reports whether a raft message marks an event of this node's
// log that an operator correlates with later behaviour. "clearing log
// suffix" (raft logs it at Warn) is a follower dropping entries it stored but
// that never committed, because a new leader sent different ones: the
// node's log changed under it, which is worth one line, but nothing is
// wrong.
func operatorInfo(msg string) bool {
	return msg == "clearing log suffix"
}

// peerNoise reports whether a raft error message is about a peer that
// cannot be reached, which vipd reports as reachability and quorum instead.
func peerNoise(msg string) bool {
	for _, p := range []string{
		"failed to heartbeat", "failed to appendEntries", "failed to pipeline",
		"failed to make requestVote", "failed to contact", "failed to make TimeoutNow",
		"failed to send", "failed to decode incoming command", "failed to flush response",
	} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func (h *hclogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogger) IsTrace() bool { return false }
func (h *hclogger) IsDebug() bool { return h.l.Enabled(context.Background(), slog.LevelDebug) }
func (h *hclogger) IsInfo() bool  { return h.IsDebug() }
func (h *hclogger) IsWarn() bool  { return h.IsDebug() }
func (h *hclogger) IsError() bool { return h.l.Enabled(context.Background(), slog.LevelWarn) }

func (h *hclogger) ImpliedArgs() []any { return h.args }

func (h *hclogger) With(args ...any) hclog.Logger {
	c := *h
	c.args = append(append([]any(nil), h.args...), args...)
	return &c
}

func (h *hclogger) Name() string { return h.name }

func (h *hclogger) Named(name string) hclog.Logger {
	c := *h
	c.name = h.name + "." + name
	c.l = h.base.With("subsystem", c.name)
	return &c
}

func (h *hclogger) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	c.l = h.base.With("subsystem", name)
	return &c
}

// SetLevel is ignored: the slog handler decides what is written.
func (h *hclogger) SetLevel(hclog.Level) {}

func (h *hclogger) GetLevel() hclog.Level {
	if h.IsDebug() {
		return hclog.Debug
	}
	return hclog.Error
}

func (h *hclogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelDebug)
}

func (h *hclogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}
