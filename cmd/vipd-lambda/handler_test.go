package main

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestCheckEvent(t *testing.T) {
	tests := []struct {
		name, event string
		ok          bool
	}{
		{"a scheduled event runs", scheduledEvent, true},
		{"an empty object runs (manual invoke)", `{}`, true},
		{"an S3 event is refused", `{"source":"aws.s3","detail-type":"Object Created"}`, false},
		{"an arbitrary object is refused", `{"hello":"world"}`, false},
		{"a list is refused", `[1]`, false},
		{"a string is refused", `"tick"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkEvent(json.RawMessage(tt.event))
			if (err == nil) != tt.ok {
				t.Errorf("checkEvent(%s) = %v, want ok %v", tt.event, err, tt.ok)
			}
		})
	}
}

func TestHandleWithoutConfigurationIsAnError(t *testing.T) {
	h := &handler{getenv: func(string) string { return "" }, log: slog.New(slog.DiscardHandler)}
	_, err := h.handle(t.Context(), json.RawMessage(`{}`))
	if err == nil || !strings.Contains(err.Error(), "VIPD_CONFIG") {
		t.Errorf("handle without configuration: %v, want an error naming VIPD_CONFIG", err)
	}
	h.getenv = func(k string) string {
		if k == "VIPD_CONFIG" {
			return "cluster: [oops"
		}
		return ""
	}
	if _, err := h.handle(t.Context(), json.RawMessage(`{}`)); err == nil {
		t.Error("handle with a broken configuration succeeded")
	}
}
