package raft

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// Raft's levels are mapped to what an operator needs at vipd's default
// level (Info): a cleared log suffix is reported, failed heartbeats to a
// down peer are not, storage errors are warnings.
func TestHCLogLevels(t *testing.T) {
	for _, tt := range []struct {
		level hclog.Level
		msg   string
		want  string // "" when nothing is written at Info
	}{
		{hclog.Warn, "clearing log suffix", "level=INFO msg=\"clearing log suffix\" component=raft from=8 to=9"},
		{hclog.Error, "failed to heartbeat to", ""},
		{hclog.Warn, "heartbeat timeout reached, starting election", ""},
		{hclog.Error, "failed to get log", "level=WARN msg=\"failed to get log\" component=raft from=8 to=9"},
	} {
		var buf strings.Builder
		h := newHCLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
			Level:       slog.LevelInfo,
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
		})))
		h.Log(tt.level, tt.msg, "from", 8, "to", 9)
		if got := strings.TrimSpace(buf.String()); got != tt.want {
			t.Errorf("raft %s %q logged %q, want %q", tt.level, tt.msg, got, tt.want)
		}
	}
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
