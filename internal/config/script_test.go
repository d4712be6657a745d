package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// SplitScript follows keepalived.conf(5), "Quoted strings": the man page's
// own example (after the config line's outer quotes are removed) gives the
// four arguments the man page lists.
func TestSplitScript(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"/etc/keepalived/notify.sh master eth0", []string{"/etc/keepalived/notify.sh", "master", "eth0"}},
		{"  /x/n.sh\tmaster  ", []string{"/x/n.sh", "master"}},
		{"", nil},
		{`abcd" efg h jkl "mnop`, []string{"abcd efg h jkl mnop"}},
		{`abcd "efg h jkl" mnop`, []string{"abcd", "efg h jkl", "mnop"}},
		{`/etc/keepalived/notify_event.sh ' spaces\\x20f\x69le ' '\"s p a c e \"' SG1.low master`,
			[]string{"/etc/keepalived/notify_event.sh", ` spaces\x20file `, `"s p a c e "`, "SG1.low", "master"}},
		{`/x/n.sh a\ b '' \101\t\cA`, []string{"/x/n.sh", "a b", "", "A\t\x01"}},
		{`/x/n.sh $HOME *`, []string{"/x/n.sh", "$HOME", "*"}},
	}
	for _, tt := range tests {
		got, err := SplitScript(tt.in)
		if err != nil {
			t.Errorf("SplitScript(%q) error %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("SplitScript(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, in := range []string{`/x/n.sh 'a`, `/x/n.sh "a`, `/x/n.sh a\`} {
		if got, err := SplitScript(in); err == nil {
			t.Errorf("SplitScript(%q) = %q, want an error", in, got)
		}
	}
}

// Lint warns, with the line, about a notify script this host cannot run; a
// config with such a script is still valid (keepalived warns at load too).
func TestLintReportsMissingAndNotExecutableScripts(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.sh")
	plain := filepath.Join(dir, "plain.sh")
	for path, mode := range map[string]os.FileMode{ok: 0o755, plain: 0o644} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.sh")
	yaml := members + "notify:\n" +
		"  master: '" + ok + " master eth0'\n" +
		"  backup: '" + missing + " backup'\n" +
		"  fault: " + plain + "\n" +
		"  any: " + dir + "\n"
	path := filepath.Join(dir, "vipd.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, warnings, err := Lint(path)
	if err != nil {
		t.Fatalf("Lint = %v, want a valid config", err)
	}
	if c.Notify.Master != ok+" master eth0" {
		t.Errorf("notify.master = %q", c.Notify.Master)
	}
	var got []string
	for _, w := range warnings {
		var e *Error
		if !errors.As(w, &e) {
			t.Fatalf("warning %v is not an *Error", w)
		}
		got = append(got, strings.ReplaceAll(e.Error(), dir, "DIR"))
	}
	want := []string{
		"DIR/vipd.yaml:6:3: notify.backup: DIR/missing.sh does not exist: the script would fail at the first backup transition",
		"DIR/vipd.yaml:7:3: notify.fault: DIR/plain.sh is not executable (mode -rw-r--r--; chmod +x): the script would fail at the first fault transition",
		"DIR/vipd.yaml:8:3: notify.any: DIR is not a regular file (d---------): the script would fail at the first transition",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Lint warnings (-want +got):\n%s", diff)
	}
}
