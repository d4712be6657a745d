package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestText(t *testing.T) {
	for _, tt := range []struct {
		name string
		attr slog.Attr
		want string
	}{
		{"a duration is a Go duration string", slog.Duration("lease", 2*time.Second), "lease=2s"},
		{"a list is comma-separated", slog.Any("route_table_id", []string{"rtb-1", "rtb-2"}), `route_table_id="rtb-1, rtb-2"`},
		{"a map is key: value pairs, keys sorted", slog.Any("reason", map[string][]string{
			"route": {"rtb-1 points at eni-2"}, "local-address": {"192.168.100.10/32 missing on eth0"}}),
			`reason="local-address: 192.168.100.10/32 missing on eth0; route: rtb-1 points at eni-2"`},
		{"durations inside lists are strings", slog.Any("waits", []time.Duration{time.Second, 1500 * time.Millisecond}), `waits="1s, 1.5s"`},
		{"elements use their String method", slog.Any("cidrs", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}), "cidrs=10.0.0.0/16"},
		{"an empty list is empty", slog.Any("peers", []string{}), `peers=""`},
		{"bytes stay the handler's", slog.Any("body", []byte("ok")), `body="ok"`},
		{"inside a group too", slog.Group("step", slog.Duration("timeout", 10*time.Second)), "step.timeout=10s"},
		{"an error is left alone", slog.Any("err", errors.New("boom")), "err=boom"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			New(&b, Text, slog.LevelInfo).LogAttrs(t.Context(), slog.LevelInfo, "m", tt.attr)
			line := strings.TrimSpace(b.String())
			if !strings.HasSuffix(line, " msg=m "+tt.want) {
				t.Errorf("logged %q, want it to end in %q", line, tt.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	for _, tt := range []struct {
		name string
		attr slog.Attr
		want string // the attribute's JSON
	}{
		{"a duration is a Go duration string", slog.Duration("lease", 2*time.Second), `"2s"`},
		{"a list is an array", slog.Any("route_table_id", []string{"rtb-1", "rtb-2"}), `["rtb-1","rtb-2"]`},
		{"a map is an object", slog.Any("reason", map[string][]string{"route": {"rtb-1 points at eni-2"}}), `{"route":["rtb-1 points at eni-2"]}`},
		{"durations inside lists are strings", slog.Any("waits", []time.Duration{time.Second, 1500 * time.Millisecond}), `["1s","1.5s"]`},
		{"durations inside maps are strings", slog.Any("timeouts", map[string]time.Duration{"acquire": 10 * time.Second}), `{"acquire":"10s"}`},
		{"durations behind interfaces are strings", slog.Any("mixed", []any{"x", 3 * time.Millisecond}), `["x","3ms"]`},
		{"inside a group too", slog.Group("step", slog.Duration("timeout", 10*time.Second)), `{"timeout":"10s"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			New(&b, JSON, slog.LevelInfo).LogAttrs(t.Context(), slog.LevelInfo, "m", tt.attr)
			var rec map[string]json.RawMessage
			if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, b.Bytes())
			}
			if got := string(rec[tt.attr.Key]); got != tt.want {
				t.Errorf("%s = %s, want %s (line %s)", tt.attr.Key, got, tt.want, b.Bytes())
			}
		})
	}
}

func TestLevel(t *testing.T) {
	var b bytes.Buffer
	log := New(&b, JSON, slog.LevelWarn)
	log.Info("hidden")
	log.Warn("shown")
	if strings.Contains(b.String(), "hidden") || !strings.Contains(b.String(), "shown") {
		t.Errorf("level warn logged %q", b.String())
	}
}
