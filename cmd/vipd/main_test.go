package main

import (
	"bytes"
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
