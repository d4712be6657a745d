// Package deploy holds the files that put vipd on a host (systemd units,
// example configs, packaging); its tests check the built .deb: its
// contents, lintian's verdict, and the installed vipd against vpcsim.
package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// installed unpacks the .deb named by VIPD_DEB (make dist-test sets it) into
// a scratch root with dpkg -x, as dpkg would install it minus the scripts,
// and returns the root.
func installed(t *testing.T) string {
	t.Helper()
	deb := debPath(t)
	root := t.TempDir()
	if out, err := exec.CommandContext(t.Context(), "dpkg", "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -x %s: %v\n%s", deb, err, out)
	}
	return root
}

// debPath is the .deb named by VIPD_DEB (make dist-test sets it); without
// it the test skips.
func debPath(t *testing.T) string {
	t.Helper()
	deb := os.Getenv("VIPD_DEB")
	if deb == "" {
		t.Skip("VIPD_DEB is not set: run make dist-test")
	}
	if !filepath.IsAbs(deb) {
		t.Fatalf("VIPD_DEB=%s: want an absolute path (the test runs in deploy/)", deb)
	}
	return deb
}

// vipd runs the installed binary with an environment that holds nothing of
// the caller's AWS settings: credentials come from the simulated instance
// profile, as on EC2.
func vipd(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), filepath.Join(root, "usr/bin/vipd"), args...)
	home := t.TempDir()
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials")}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func TestDeb(t *testing.T) {
	root := installed(t)
	for _, f := range []string{
		"usr/bin/vipd",
		"lib/systemd/system/vipd.service",
		"lib/systemd/system/vipd-witness.service",
		"usr/lib/sysusers.d/vipd.conf",
		"usr/share/doc/vipd/examples/vipd.yaml",
		"usr/share/doc/vipd/examples/witness.yaml",
		"usr/share/doc/vipd/examples/grafana-dashboard.json",
		"usr/share/doc/vipd/quickstart.md",
		"etc/vipd",
	} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("package lacks %s: %v", f, err)
		}
	}

	out, err := vipd(t, root, "version")
	if err != nil || !strings.HasPrefix(out, "vipd ") || !strings.Contains(out, "commit ") {
		t.Errorf("vipd version = %q, %v; want vipd VERSION (commit ..., go...)", out, err)
	}
	// The binary is static: it runs on hosts without this libc.
	if b, err := os.ReadFile(filepath.Join(root, "usr/bin/vipd")); err == nil && bytes.Contains(b, []byte("/lib64/ld-linux")) {
		t.Errorf("usr/bin/vipd is dynamically linked")
	}
	for _, ex := range []string{"vipd.yaml", "witness.yaml"} {
		if out, err := vipd(t, root, "run", "--validate", "--config", filepath.Join(root, "usr/share/doc/vipd/examples", ex)); err != nil {
			t.Errorf("example %s is not valid: %v\n%s", ex, err, out)
		}
	}
}

// TestDebContents lists the package with dpkg-deb -c, as a user checking it
// would, for what Debian expects of it beyond the program: a manual page
// for each command, completions where bash, zsh and fish look for them,
// the copyright file, the changelog, and the lintian overrides. The
// completions must load in their shell.
func TestDebContents(t *testing.T) {
	deb := debPath(t)
	out, err := exec.CommandContext(t.Context(), testenv.LookPath(t, "dpkg-deb"), "-c", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c %s: %v\n%s", deb, err, out)
	}
	listed := map[string]bool{}
	for line := range strings.Lines(string(out)) {
		// drwxr-xr-x 0/0 0 2026-12-05 04:59 ./usr/share/man/man1/vipd.1.gz
		if f := strings.Fields(line); len(f) >= 6 {
			listed[strings.TrimPrefix(f[5], ".")] = true
		}
	}
	var want []string
	for _, page := range []string{"vipd", "vipd-run", "vipd-check", "vipd-status", "vipd-switchover", "vipd-standby",
		"vipd-controller", "vipd-iam-policy", "vipd-demo", "vipd-version", "vipd-completion-bash"} {
		want = append(want, "/usr/share/man/man1/"+page+".1.gz")
	}
	want = append(want,
		"/usr/share/bash-completion/completions/vipd",
		"/usr/share/zsh/vendor-completions/_vipd",
		"/usr/share/fish/vendor_completions.d/vipd.fish",
		"/usr/share/doc/vipd/copyright",
		"/usr/share/doc/vipd/changelog.Debian.gz",
		"/usr/share/lintian/overrides/vipd",
	)
	for _, f := range want {
		if !listed[f] {
			t.Errorf("dpkg-deb -c lacks %s:\n%s", f, out)
		}
	}

	root := installed(t)
	// bash: sourcing the script registers the completion of vipd.
	bash := filepath.Join(root, "usr/share/bash-completion/completions/vipd")
	if out, err := exec.CommandContext(t.Context(), testenv.LookPath(t, "bash"), "-c", `source "$1" && complete -p vipd`, "bash", bash).CombinedOutput(); err != nil || !strings.Contains(string(out), " vipd") {
		t.Errorf("bash completion does not register for vipd: %v\n%s", err, out)
	}
	for f, want := range map[string]string{
		"usr/share/zsh/vendor-completions/_vipd":        "#compdef vipd\n",   // compinit reads the first line
		"usr/share/fish/vendor_completions.d/vipd.fish": "complete -c vipd ", // fish loads it for the command vipd
		"usr/share/doc/vipd/copyright":                  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n",
	} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %q: %v", f, want, err)
		}
	}
}

// TestLintian runs lintian on the package: it must report no error and no
// warning; what it would say and is wrong for this package is overridden
// in deploy/lintian-overrides, with the reason.
func TestLintian(t *testing.T) {
	deb := debPath(t)
	lintian := testenv.LookPath(t, "lintian")
	cmd := exec.CommandContext(t.Context(), lintian, "--fail-on", "error,warning", "--display-info", deb)
	out, err := cmd.CombinedOutput()
	t.Logf("lintian %s:\n%s", filepath.Base(deb), out)
	var bad []string
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: ") {
			bad = append(bad, line)
		}
	}
	if err != nil || len(bad) > 0 {
		t.Errorf("lintian: %v; errors and warnings:\n%s", err, strings.Join(bad, ""))
	}
}

const world = `
vpcs: [{id: vpc-0a000000000000001, cidr: 10.0.0.0/16}]
subnets: [{id: subnet-0a000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.1.0/24, az: a}]
route-tables:
  - {id: rtb-0a000000000000001, vpc: vpc-0a000000000000001, main: true, subnets: [subnet-0a000000000000001]}
roles:
  - name: vipd
    statements:
      - {actions: [ec2:DescribeRouteTables, ec2:DescribeInstances]}
      - {actions: [%s], resources: ["arn:aws:ec2:*:*:route-table/rtb-0a000000000000001"]}
instances:
  - {id: i-0a000000000000001, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd, source-dest-check: false}
`

// TestCheckFromDeb runs the installed vipd check against vpcsim: it passes
// with the permissions a node needs and fails, naming the action, without.
func TestCheckFromDeb(t *testing.T) {
	root := installed(t)
	for _, tt := range []struct {
		name    string
		actions string
		wantErr bool
		want    string
	}{
		{"allowed", "ec2:CreateRoute, ec2:ReplaceRoute", false, "✓ permission ec2:ReplaceRoute rtb-0a000000000000001: allowed (DryRun)"},
		{"missing ReplaceRoute", "ec2:CreateRoute", true, "✗ permission ec2:ReplaceRoute rtb-0a000000000000001: missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, fmt.Sprintf(world, tt.actions)))
			cfg := filepath.Join(t.TempDir(), "vipd.yaml")
			body := fmt.Sprintf(`cluster: c
node: {name: a, advertise: 127.0.0.1:7946, data-dir: %q}
peers:
  - {name: b, address: %q}
  - {name: w, address: %q, witness: true}
resources:
  - overlay-route: {cidr: 192.168.100.10/32, route-tables: [rtb-0a000000000000001]}
local-address: {interface: none}
aws: {endpoint: %q, imds-endpoint: %q}
`, t.TempDir(), closedPort(t), closedPort(t), srv.URL(), srv.IMDSURL("i-0a000000000000001"))
			if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := vipd(t, root, "check", "--config", cfg)
			var ee *exec.ExitError
			switch {
			case tt.wantErr && !(errors.As(err, &ee) && ee.ExitCode() == 1):
				t.Errorf("vipd check: %v, want exit status 1\n%s", err, out)
			case !tt.wantErr && err != nil:
				t.Errorf("vipd check: %v\n%s", err, out)
			}
			for _, want := range []string{"✓ imds: IMDSv2: instance i-0a000000000000001", "✓ credentials: found, from the instance profile", tt.want} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// closedPort returns a loopback address where nothing listens: the peers
// are not started, which vipd check reports as a warning only.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
