package simcluster

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/config"
)

func members(dir string) []Member {
	return []Member{
		{Name: "a", InstanceID: "i-a", Advertise: "127.0.0.1:7001", Dir: filepath.Join(dir, "a")},
		{Name: "b", InstanceID: "i-b", Advertise: "127.0.0.1:7002", Dir: filepath.Join(dir, "b")},
		{Name: "witness", InstanceID: "i-w", Witness: true, Advertise: "127.0.0.1:7003", Dir: filepath.Join(dir, "witness")},
	}
}

// A node's configuration, built in Go and written by WriteConfig, is read
// back by vipd as the same configuration: what a harness sets is what the
// node runs with, defaults included.
func TestWriteConfigIsWhatVipdReads(t *testing.T) {
	dir := t.TempDir()
	ms := members(dir)
	cfg := BaseConfig("sim", ms[0], ms, config.LogJSON)
	cfg.Health = []config.Check{ServiceCheck("127.0.0.1:5432", 200*time.Millisecond)}
	vip := netip.MustParsePrefix("192.168.100.10/32")
	cfg.Resources = []config.Resource{{OverlayRoute: &config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{All: true}, DisableSourceDestCheck: true}}}
	cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceNone, CIDR: vip}
	cfg.AWS.Region, cfg.AWS.Endpoint, cfg.AWS.IMDSEndpoint = "us-east-1", "http://127.0.0.1:1", "http://127.0.0.1:2"

	path := filepath.Join(dir, "a.yaml")
	if err := WriteConfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	got, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := *cfg
	want.DeriveDefaults()
	want.Source = path
	if diff := cmp.Diff(&want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("config read back (-built +read):\n%s", diff)
	}
	if len(got.Peers) != 2 || got.Peers[0].Name != "b" || !got.Peers[1].Witness {
		t.Errorf("peers = %+v, want b and the witness", got.Peers)
	}
	if got.API.Socket != ms[0].Socket() || got.Node.DataDir != filepath.Join(ms[0].Dir, "data") {
		t.Errorf("socket %s, data dir %s: want both under %s", got.API.Socket, got.Node.DataDir, ms[0].Dir)
	}
}

// A configuration vipd would refuse is refused when written, with vipd's
// own message, and no file is left for a node to fail on.
func TestWriteConfigRefusesWhatVipdRefuses(t *testing.T) {
	dir := t.TempDir()
	ms := members(dir)
	cfg := BaseConfig("sim", ms[0], ms, config.LogJSON)
	cfg.Election.Lease = -time.Second
	path := filepath.Join(dir, "a.yaml")
	err := WriteConfig(path, cfg)
	if err == nil || !strings.Contains(err.Error(), "election.lease") {
		t.Errorf("WriteConfig with a negative lease = %v, want an error naming election.lease", err)
	}
	if _, serr := os.Stat(path); serr == nil {
		t.Errorf("WriteConfig left %s behind after refusing it", path)
	}
}
