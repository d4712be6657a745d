package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/config"
)

// TestDeployFiles keeps deploy/ consistent: the example configs are valid,
// and each unit runs its config with the directories systemd creates for it
// matching the config's admin socket and data directory.
func TestDeployFiles(t *testing.T) {
	for _, tt := range []struct{ unit, config, installed string }{
		{"vipd.service", "vipd.yaml", "/etc/vipd/vipd.yaml"},
		{"vipd-witness.service", "witness.yaml", "/etc/vipd/witness.yaml"},
	} {
		t.Run(tt.unit, func(t *testing.T) {
			cfg, err := config.Load(filepath.Join("..", "..", "deploy", tt.config))
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join("..", "..", "deploy", tt.unit))
			if err != nil {
				t.Fatal(err)
			}
			unit := string(b)
			for _, want := range []string{
				"Type=notify", "WatchdogSec=", "User=vipd", "UMask=0077", "ProtectSystem=strict",
				"StateDirectory=vipd", "RuntimeDirectory=vipd",
				"ExecStart=/usr/bin/vipd run --config " + tt.installed + "\n",
			} {
				if !strings.Contains(unit, want) {
					t.Errorf("%s lacks %q", tt.unit, want)
				}
			}
			if !cfg.Node.Witness && !strings.Contains(unit, "AmbientCapabilities=CAP_NET_ADMIN\n") {
				t.Errorf("%s: a node binds the address and needs CAP_NET_ADMIN", tt.unit)
			}
			if got := filepath.Dir(cfg.API.Socket); got != "/run/vipd" {
				t.Errorf("%s: api.socket in %s, want in RuntimeDirectory /run/vipd", tt.config, got)
			}
			if !strings.HasPrefix(cfg.Node.DataDir, "/var/lib/vipd/") {
				t.Errorf("%s: node.data-dir %s, want under StateDirectory /var/lib/vipd", tt.config, cfg.Node.DataDir)
			}
		})
	}
}
