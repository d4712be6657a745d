package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/cli"
)

// A notify script that this host cannot run is a warning naming its line in
// vipd run --validate (the configuration stays valid, as keepalived only
// warns at load) and a failure in vipd check, which runs where vipd will.
func TestNotifyScriptMissingIsReportedByValidateAndCheck(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir := t.TempDir()
	missing := filepath.Join(dir, "notify.sh")
	// A witness needs no AWS; its peers are closed loopback ports.
	cfg := fmt.Sprintf(`cluster: c
node: {name: w, advertise: 127.0.0.1:1, witness: true}
peers: [{name: a, address: 127.0.0.1:2}, {name: b, address: 127.0.0.1:3}]
notify:
  master: %s master eth0
`, missing)
	path := filepath.Join(dir, "vipd.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	root := newRootCmd()
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	if got := cli.Run(t.Context(), root, []string{"run", "--config", path, "--validate"}, &stderr); got != 0 {
		t.Fatalf("vipd run --validate: exit status %d, want 0; stderr %q", got, stderr.String())
	}
	want := "warning: " + path + ":5:3: notify.master: " + missing + " does not exist"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("vipd run --validate stderr = %q, want it to contain %q", stderr.String(), want)
	}

	stdout.Reset()
	stderr.Reset()
	root = newRootCmd()
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	if got := cli.Run(t.Context(), root, []string{"check", "--config", path, "--timeout", "500ms"}, &stderr); got != 1 {
		t.Fatalf("vipd check: exit status %d, want 1; stdout %q", got, stdout.String())
	}
	var line string
	for l := range strings.Lines(stdout.String()) {
		if strings.Contains(l, "notify") {
			line = l
			break
		}
	}
	if !strings.Contains(line, "✗") || !strings.Contains(line, missing+" does not exist") {
		t.Errorf("vipd check: notify line %q, want ✗ naming %s; output:\n%s", line, missing, stdout.String())
	}

	// Installed and executable, the same configuration passes that check.
	if err := os.WriteFile(missing, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	root = newRootCmd()
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	_ = cli.Run(t.Context(), root, []string{"check", "--config", path, "--timeout", "500ms"}, &stderr)
	if !strings.Contains(stdout.String(), "✓ notify") {
		t.Errorf("vipd check with the script installed:\n%s\nwant a ✓ notify line", stdout.String())
	}
}
