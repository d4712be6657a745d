//go:build unix

package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/config"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// writeScript writes an executable shell script into dir and returns its path.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNotifyPassesKeepalivedArgumentsJSONAndCleanEnvironment(t *testing.T) {
	// A variable of the daemon's own environment must not reach the script.
	t.Setenv("VIPD_TEST_SECRET", "leaked")
	dir := t.TempDir()
	script := writeScript(t, dir, "notify.sh", `
out=$(dirname "$0")
printf '%s\n' "$@" > "$out/args"
cat > "$out/stdin"
env > "$out/env"
pwd > "$out/pwd"
`)
	ev := Event{
		State:         Master,
		PreviousState: Backup,
		Reason:        "lease_granted",
		Node:          "a",
		Holder:        "a",
		Token:         42,
		Priority:      150,
		Time:          time.Date(2026, 11, 24, 21, 0, 0, 5, time.UTC),
		Resources:     []Resource{{Name: "vip", Kind: "overlay-route", State: "acquired"}},
	}
	// keepalived: notify_master "/path/notify.sh master eth0" runs the
	// script with exactly those two arguments.
	r := New(config.Notify{Master: script + " master eth0", Timeout: 5 * time.Second}, "orders-db", testLogger(t))
	if err := r.Notify(t.Context(), ev); err != nil {
		t.Fatalf("Notify(master) = %v, want nil", err)
	}

	gotArgs := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(dir, "args"))), "\n")
	if diff := cmp.Diff([]string{"master", "eth0"}, gotArgs); diff != "" {
		t.Errorf("script arguments (-want +got):\n%s", diff)
	}

	var gotEvent map[string]any
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "stdin"))), &gotEvent); err != nil {
		t.Fatalf("stdin is not one JSON object: %v", err)
	}
	wantEvent := map[string]any{
		"state":          "master",
		"previous_state": "backup",
		"reason":         "lease_granted",
		"node":           "a",
		"holder":         "a",
		"token":          float64(42),
		"priority":       float64(150),
		"timestamp":      "2026-11-24T21:00:00.000000005Z",
		"resources":      []any{map[string]any{"name": "vip", "kind": "overlay-route", "state": "acquired"}},
	}
	if diff := cmp.Diff(wantEvent, gotEvent); diff != "" {
		t.Errorf("event on stdin (-want +got):\n%s", diff)
	}

	gotEnv := map[string]string{}
	for line := range strings.Lines(readFile(t, filepath.Join(dir, "env"))) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		switch k {
		case "PWD", "OLDPWD", "SHLVL", "_":
			// Set by the shell itself.
			continue
		}
		gotEnv[k] = v
	}
	wantEnv := map[string]string{
		"PATH":                "/usr/sbin:/usr/bin:/sbin:/bin",
		"VIPD_STATE":          "master",
		"VIPD_PREVIOUS_STATE": "backup",
		"VIPD_NODE":           "a",
		"VIPD_HOLDER":         "a",
		"VIPD_TOKEN":          "42",
		"VIPD_REASON":         "lease_granted",
		"VIPD_PRIORITY":       "150",
		"VIPD_INSTANCE":       "orders-db",
	}
	if diff := cmp.Diff(wantEnv, gotEnv); diff != "" {
		t.Errorf("script environment (-want +got):\n%s", diff)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(dir, "pwd"))); got != "/" {
		t.Errorf("script working directory = %q, want /", got)
	}
}

func TestNotifyRunsTheScriptOfEachState(t *testing.T) {
	dir := t.TempDir()
	n := config.Notify{Timeout: 5 * time.Second}
	for _, s := range []State{Master, Backup, Fault, Stop} {
		path := writeScript(t, dir, string(s)+".sh", `echo "$#:$1" >> "$(dirname "$0")/ran"`+"\n")
		cmd := path + " " + strings.ToUpper(string(s))
		switch s {
		case Master:
			n.Master = cmd
		case Backup:
			n.Backup = cmd
		case Fault:
			n.Fault = cmd
		case Stop:
			n.Stop = cmd
		}
	}
	r := New(n, "c", testLogger(t))
	for _, s := range []State{Fault, Backup, Master, Stop} {
		if err := r.Notify(t.Context(), Event{State: s}); err != nil {
			t.Fatalf("Notify(%s) = %v, want nil", s, err)
		}
	}
	got := strings.Fields(readFile(t, filepath.Join(dir, "ran")))
	if diff := cmp.Diff([]string{"1:FAULT", "1:BACKUP", "1:MASTER", "1:STOP"}, got); diff != "" {
		t.Errorf("scripts run, as argc:first argument (-want +got):\n%s", diff)
	}
}

// The generic script (keepalived's notify) runs after the state's own
// script and gets the words written, then INSTANCE NAME STATE PRIORITY
// (keepalived.conf(5): "4 additional arguments after the configured
// arguments"); a failing state script does not keep it from running.
func TestNotifyGenericScriptRunsAfterWithKeepalivedArguments(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	state := writeScript(t, dir, "state.sh", `printf 'state %s\n' "$*" >> "$(dirname "$0")/log"; exit 3`+"\n")
	generic := writeScript(t, dir, "generic.sh", `for a in "$@"; do printf 'generic [%s]\n' "$a"; done >> "$(dirname "$0")/log"`+"\n")
	r := New(config.Notify{
		Backup:  state + " backup",
		Any:     generic + ` 'two words' "x y"z`,
		Timeout: 5 * time.Second,
	}, "orders-db", testLogger(t))

	err := r.Notify(t.Context(), Event{State: Backup, Priority: 90})
	var se *ScriptError
	if !errors.As(err, &se) || se.Path != state {
		t.Errorf("Notify(backup) = %v, want the state script's failure", err)
	}
	want := []string{
		"state backup",
		"generic [two words]",
		"generic [x yz]",
		"generic [INSTANCE]",
		"generic [orders-db]",
		"generic [BACKUP]",
		"generic [90]",
	}
	got := strings.Split(strings.TrimSpace(readFile(t, log)), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scripts run, in order (-want +got):\n%s", diff)
	}

	// A state without its own script still runs the generic one.
	if err := os.Remove(log); err != nil {
		t.Fatal(err)
	}
	if err := r.Notify(t.Context(), Event{State: Master, Priority: 90}); err != nil {
		t.Fatalf("Notify(master) = %v, want nil", err)
	}
	got = strings.Split(strings.TrimSpace(readFile(t, log)), "\n")
	if len(got) != 6 || got[4] != "generic [MASTER]" {
		t.Errorf("generic script for master ran with %q, want state MASTER as the third of the last four", got)
	}
}

func TestNotifyWithoutScriptDoesNothing(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, dir, "master.sh", `touch "$(dirname "$0")/ran"`+"\n")
	r := New(config.Notify{Master: script}, "c", testLogger(t))
	for _, s := range []State{Backup, Fault, Stop} {
		if err := r.Notify(t.Context(), Event{State: s}); err != nil {
			t.Errorf("Notify(%s) with no script = %v, want nil", s, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("master script ran for another state (stat: %v)", err)
	}
}

func TestNotifyUnknownStateIsAnError(t *testing.T) {
	r := New(config.Notify{}, "c", testLogger(t))
	if err := r.Notify(t.Context(), Event{State: "primary"}); err == nil {
		t.Error("Notify(primary) = nil, want an error for a state that is not a notify kind")
	}
}

func TestNotifyFailureCarriesExitStatusAndOutput(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, dir, "fault.sh", "echo checking\necho 'aws: not authorized' >&2\nexit 3\n")
	r := New(config.Notify{Fault: script, Timeout: 5 * time.Second}, "c", testLogger(t))

	err := r.Notify(t.Context(), Event{State: Fault})
	var se *ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("Notify(fault) = %v, want a *ScriptError", err)
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Errorf("Notify(fault) = %v, want exit status 3 in the chain", err)
	}
	if diff := cmp.Diff("checking\naws: not authorized", se.Output); diff != "" {
		t.Errorf("ScriptError.Output (-want +got):\n%s", diff)
	}
	for _, want := range []string{"fault", script, "exit status 3", "not authorized"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNotifyMissingScriptIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.sh")
	r := New(config.Notify{Stop: path}, "c", testLogger(t))
	err := r.Notify(t.Context(), Event{State: Stop})
	var se *ScriptError
	if !errors.As(err, &se) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Notify(stop) with a missing script = %v, want a *ScriptError wrapping os.ErrNotExist", err)
	}
}

func TestNotifyKeepsOnlyTheTailOfLongOutput(t *testing.T) {
	dir := t.TempDir()
	// 20000 bytes of 'a', then a last line that must survive.
	script := writeScript(t, dir, "master.sh", "head -c 20000 /dev/zero | tr '\\0' a\necho\necho the-end\nexit 1\n")
	r := New(config.Notify{Master: script, Timeout: 5 * time.Second}, "c", testLogger(t))
	err := r.Notify(t.Context(), Event{State: Master})
	var se *ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("Notify(master) = %v, want a *ScriptError", err)
	}
	if len(se.Output) > outputLimit+len("...") {
		t.Errorf("len(Output) = %d, want at most %d", len(se.Output), outputLimit+3)
	}
	if !strings.HasPrefix(se.Output, "...") || !strings.HasSuffix(se.Output, "the-end") {
		t.Errorf("Output = %.20q...%q, want a marked tail ending in the last line", se.Output, se.Output[max(0, len(se.Output)-20):])
	}
}

// processGone reports whether pid no longer runs (exited, or a zombie
// waiting for a reaper that is not ours).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// Field 3, after "pid (comm)", is the state.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func waitGone(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Errorf("process %d still runs %s after the script was killed", pid, within)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNotifyTimeoutKillsTheScriptAndItsChildren(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, dir, "master.sh", `
sleep 60 &
echo $! > "$(dirname "$0")/child"
echo started
sleep 60
`)
	r := New(config.Notify{Master: script, Timeout: 300 * time.Millisecond}, "c", testLogger(t))

	start := time.Now()
	err := r.Notify(t.Context(), Event{State: Master})
	elapsed := time.Since(start)

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Notify(master) = %v, want context.DeadlineExceeded in the chain", err)
	}
	var se *ScriptError
	if errors.As(err, &se) && se.Output != "started" {
		t.Errorf("ScriptError.Output = %q, want %q", se.Output, "started")
	}
	// The kill must not wait for the pipes the children hold (WaitDelay is
	// the bound if the group kill failed).
	if elapsed > waitDelay {
		t.Errorf("Notify returned after %s, want well under %s", elapsed, waitDelay)
	}
	child, convErr := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(dir, "child"))))
	if convErr != nil {
		t.Fatalf("read child pid: %v", convErr)
	}
	waitGone(t, child, 5*time.Second)
}

func TestNotifyCancelledContextKillsTheScript(t *testing.T) {
	dir := t.TempDir()
	script := writeScript(t, dir, "backup.sh", "echo started\nexec sleep 60\n")
	r := New(config.Notify{Backup: script, Timeout: time.Minute}, "c", testLogger(t))

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := r.Notify(ctx, Event{State: Backup})
	if elapsed := time.Since(start); elapsed > waitDelay {
		t.Errorf("Notify returned after %s, want promptly after the caller's deadline", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Notify(backup) = %v, want context.DeadlineExceeded in the chain", err)
	}
}

func TestNotifyScriptThatLeavesADaemonSucceeds(t *testing.T) {
	dir := t.TempDir()
	// The background child keeps stdout open after the script exits 0;
	// keepalived would not fail this, and neither do we, but we stop
	// waiting for its output after WaitDelay.
	script := writeScript(t, dir, "master.sh", `
sleep 30 &
echo $! > "$(dirname "$0")/child"
exit 0
`)
	r := New(config.Notify{Master: script, Timeout: 10 * time.Second}, "c", testLogger(t))
	start := time.Now()
	if err := r.Notify(t.Context(), Event{State: Master}); err != nil {
		t.Errorf("Notify(master) = %v, want nil", err)
	}
	if elapsed := time.Since(start); elapsed > waitDelay+time.Second {
		t.Errorf("Notify returned after %s, want about WaitDelay (%s)", elapsed, waitDelay)
	}
	// Clean up the daemon the script left behind.
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(dir, "child"))))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill leftover child %d: %v", pid, err)
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"short output is kept whole without the final newline", []string{"ab", "c\n"}, "abc"},
		{"output at the limit is kept whole", []string{"abcd"}, "abcd"},
		{"long output keeps the marked tail", []string{"abc", "defg"}, "...defg"},
		{"a single long write keeps its tail", []string{"abcdefghij"}, "...ghij"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &tailBuffer{limit: 4}
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
