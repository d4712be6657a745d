package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/version"
)

func TestVersion(t *testing.T) {
	want := "vipd " + version.Get().String() + "\n"
	for _, args := range [][]string{{"--version"}, {"version"}} {
		cmd := newRootCmd()
		cmd.SetArgs(args)
		var out bytes.Buffer
		cmd.SetOut(&out)
		if err := cmd.ExecuteContext(t.Context()); err != nil {
			t.Fatalf("vipd %q: %v", args, err)
		}
		if out.String() != want {
			t.Errorf("vipd %q printed %q, want %q", args, out.String(), want)
		}
	}
}

// TestExitStatus covers the command lines a user gets wrong: each is a
// usage error (exit status 2, as --help says), never a failure (1) or help
// (0).
func TestExitStatus(t *testing.T) {
	for _, args := range [][]string{
		{"nosuch"},
		{"stauts"},
		{"status", "extra"},
		{"run"},
		{"run", "--config"},
		{"check", "--no-such-flag"},
		{"maintenance", "sideways"},
		{"demo", "--scenario", "bogus"},
		{"demo", "--latency", "slow"},
		{"completion", "tcsh"},
		{"help", "nosuch"},
	} {
		var stdout, stderr bytes.Buffer
		root := newRootCmd()
		root.SetOut(&stdout)
		root.SetErr(&stderr)
		if got := cli.Run(t.Context(), root, args, &stderr); got != cli.ExitUsage {
			t.Errorf("vipd %q: exit status %d, want %d; stderr %q", args, got, cli.ExitUsage, stderr.String())
		}
	}
}

func TestHelpDocumentsExitStatus(t *testing.T) {
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	if got := cli.Run(t.Context(), root, []string{"--help"}, &out); got != 0 {
		t.Fatalf("vipd --help: exit status %d", got)
	}
	for _, want := range []string{"2 for a usage error", "130 when\ninterrupted (SIGINT, Ctrl-C)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("vipd --help lacks %q:\n%s", want, out.String())
		}
	}
}

// TestManPages runs vipd man, which make dist uses to write the manual the
// package ships: a page for each command a user can run (and none for
// help or man), each with the command's --help text.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if got := cli.Run(t.Context(), newRootCmd(), []string{"man", dir}, &out); got != 0 {
		t.Fatalf("vipd man: exit status %d: %s", got, out.String())
	}
	for _, page := range []string{"vipd.1", "vipd-run.1", "vipd-check.1", "vipd-status.1", "vipd-switchover.1",
		"vipd-standby.1", "vipd-controller.1", "vipd-iam-policy.1", "vipd-demo.1", "vipd-version.1",
		"vipd-completion-bash.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("vipd man wrote no %s: %v", page, err)
			continue
		}
		if !strings.Contains(string(b), `"User Commands"`) || !strings.Contains(string(b), ".SH DESCRIPTION") {
			t.Errorf("%s is not a manual page:\n%s", page, b)
		}
	}
	for _, page := range []string{"vipd-man.1", "vipd-help.1"} {
		if _, err := os.Stat(filepath.Join(dir, page)); err == nil {
			t.Errorf("vipd man wrote %s, a command --help does not list", page)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "vipd.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"130 when", `\fB-v\fP, \fB--version\fP`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("vipd.1 lacks %q:\n%s", want, b)
		}
	}
}
