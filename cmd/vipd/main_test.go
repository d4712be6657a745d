package main

import (
	"bytes"
	"testing"

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
