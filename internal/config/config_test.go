package config

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// members is a valid cluster prefix for the cases below: node a, peer b
// and a witness.
const members = `cluster: c
node: {name: a, advertise: 10.0.0.1:7946}
peers: [{name: b, address: 10.0.0.2:7946}, {name: w, address: 10.0.0.3:7946, witness: true}]
`

// TestParseRejects pins the exact message of each kind of mistake. The
// golden files are testdata/errors/<case>.golden; run with -update to
// rewrite them after a deliberate change, and review the diff.
func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{"empty-file", ""},
		{"only-comments", "# nothing\n"},
		{"null-document", "~\n"},
		{"syntax-error", "cluster: c\nnode: {name: a\n"},
		{"tab-indent", "cluster: c\nnode:\n\tname: a\n"},
		{"unclosed-flow-sequence", "cluster: c\n\npeers: [a, b\n"},
		{"bad-block-indent", "cluster: c\nnode:\n  name: a\n advertise: x\n"},
		{"undefined-tag-handle", "cluster: c\nnode: !x!y a\n"},
		{"two-documents", members + "---\ncluster: d\n"},
		{"top-level-list", "- cluster: c\n"},
		{"unknown-key-with-hint", members + "helth: []\n"},
		{"unknown-key-nested", members + "election: {backend: raft, leese: 2s}\n"},
		{"unknown-key-no-hint", members + "colour: blue\n"},
		{"duplicate-key", members + "api:\n  socket: /run/a.sock\n  socket: /run/b.sock\n"},
		{"duplicate-top-level-key", members + "cluster: d\n"},
		{"merge-key", members + "health:\n  - &x {tcp: 127.0.0.1:1}\n  - {<<: *x, name: b}\n"},
		{"wrong-type-mapping-for-list", members + "health: {name: pg}\n"},
		{"wrong-type-int-for-string", "cluster: 1234\nnode: {name: a, advertise: 10.0.0.1:7946}\n"},
		{"wrong-type-string-for-int", "cluster: c\nnode: {name: a, advertise: 10.0.0.1:7946, priority: high}\n"},
		{"wrong-type-string-for-list", members + "health: [{exec: {command: /bin/true}}]\n"},
		{"integer-out-of-range", "cluster: c\nnode: {name: a, advertise: 10.0.0.1:7946, priority: 99999999999}\n"},
		{"wrong-type-bool", members + "election: {preempt: yes}\n"},
		{"duration-without-unit", members + "election: {lease: 2}\n"},
		{"duration-garbage", members + "election: {lease: soon}\n"},
		{"bad-cidr", members + "resources:\n  - overlay-route:\n      cidr: 192.168.100.300/32\n      route-tables: all\n"},
		{"address-not-cidr", members + "resources:\n  - overlay-route: {cidr: 192.168.100.10, route-tables: all}\n"},
		{"route-tables-typo", members + "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: al}\n"},
		{"route-tables-mapping", members + "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: {all: true}}\n"},
		{"several-decode-errors", members + "election: {lease: 2, backend: 7}\nhealth:\n  - {name: pg, tcp: 127.0.0.1:5432, rise: two}\nfoo: 1\n"},
		{"missing-identity", "log: {level: info}\n"},
		{"bad-names-and-addresses", "cluster: orders db\nnode: {name: a, advertise: 10.0.0.1}\npeers: [{name: a, address: 0.0.0.0:7946}, {name: b, address: 10.0.0.2:99999}, {name: '', address: ''}]\n"},
		{"raft-two-voters", "cluster: c\nnode: {name: a, advertise: 10.0.0.1:7946}\npeers: [{name: b, address: 10.0.0.2:7946}]\n"},
		{"all-witnesses", "cluster: c\nnode: {name: w1, advertise: 10.0.0.1:7946, witness: true}\npeers: [{name: w2, address: 10.0.0.2:7946, witness: true}, {name: w3, address: 10.0.0.3:7946, witness: true}]\n"},
		{"duplicate-peer-address", "cluster: c\nnode: {name: a, advertise: 10.0.0.1:7946}\npeers: [{name: b, address: 10.0.0.1:7946}, {name: w, address: 10.0.0.3:7946, witness: true}]\n"},
		{"backend-typo", members + "election: {backend: raf}\n"},
		{"etcd-without-section", members + "election: {backend: etcd}\n"},
		{"etcd-bad-fields", "cluster: c\nnode: {name: a, advertise: 10.0.0.1:7946}\nelection:\n  backend: etcd\n  etcd: {endpoints: [10.0.3.10:2379, 'https://10.0.3.11:2379'], prefix: vipd, username: vipd, cert: /etc/vipd/etcd.pem, ca: etcd-ca.pem}\n"},
		{"patroni-bad-fields", members + "election:\n  backend: follow\n  patroni: {scope: a/b, namespace: service, grace: -1s, etcd: {endpoints: [], prefix: /x}}\n"},
		{"patroni-and-primary-check", members + "election: {backend: follow, primary-check: {exec: {command: [/bin/true]}}, patroni: {scope: pg, etcd: {endpoints: ['http://127.0.0.1:2379']}}}\n"},
		{"patroni-without-follow", members + "election: {patroni: {scope: pg, etcd: {endpoints: ['http://127.0.0.1:2379']}}}\n"},
		{"etcd-without-backend", members + "election: {etcd: {endpoints: ['http://127.0.0.1:2379']}}\n"},
		{"dynamodb-without-table", members + "election: {backend: dynamodb}\n"},
		{"dynamodb-bad-table-and-witness", members + "election: {backend: dynamodb, preempt: true, dynamodb: {table: 'x'}}\n"},
		{"dynamodb-without-backend", members + "election: {dynamodb: {table: vipd-leases}}\n"},
		{"lease-too-short", members + "election: {lease: 100ms}\n"},
		{"follow-without-primary-check", members + "election: {backend: follow}\n"},
		{"follow-bad-primary-check", members + "election: {backend: follow, primary-check: {name: mirror, exec: {command: [/bin/true]}, tcp: 127.0.0.1:1, rise: 0}}\n"},
		{"primary-check-without-follow", members + "election: {primary-check: {exec: {command: [/bin/true]}}}\n"},
		{"on-conflict-typo", members + "election: {backend: follow, primary-check: {exec: {command: [/bin/true]}}, on-conflict: yeild}\n"},
		{"on-conflict-without-follow", members + "election: {on-conflict: repair}\n"},
		{"priority-out-of-range", "cluster: c\nnode: {name: a, advertise: 10.0.0.1:7946, priority: 300}\npeers: [{name: b, address: 10.0.0.2:7946}, {name: w, address: 10.0.0.3:7946, witness: true}]\n"},
		{"check-without-probe", members + "health:\n  - name: pg\n"},
		{"check-with-two-probes", members + "health:\n  - {name: pg, tcp: 127.0.0.1:5432, exec: {command: [/bin/true]}}\n"},
		{"check-timing", members + "health:\n  - {name: pg, tcp: 127.0.0.1:5432, interval: 1s, timeout: 2s, rise: 0, fall: 0}\n"},
		{"check-over-budget", members + "health:\n  - {name: pg, tcp: 127.0.0.1:5432, interval: 10s, fall: 4}\n"},
		{"check-duplicate-names", members + "health:\n  - {tcp: 127.0.0.1:5432}\n  - {tcp: 127.0.0.1:5432}\n"},
		{"check-http", members + "health:\n  - http: {url: 'ftp://x/'}\n  - http: {url: 'http://127.0.0.1/', status: 200-99}\n"},
		{"check-exec-empty", members + "health:\n  - exec: {command: []}\n"},
		{"witness-owns-things", "cluster: c\nnode: {name: w, advertise: 10.0.0.3:7946, witness: true}\npeers: [{name: a, address: 10.0.0.1:7946}, {name: b, address: 10.0.0.2:7946}]\nhealth: [{tcp: 127.0.0.1:1}]\nresources: [{overlay-route: {cidr: 10.9.0.1/32, route-tables: all}}]\nlocal-address: {interface: none, cidr: 10.9.0.1/32}\n"},
		{"empty-resource", members + "resources: [{}]\n"},
		{"overlay-route-no-cidr-no-tables", members + "resources: [{overlay-route: {}}]\nlocal-address: {interface: none, cidr: 10.9.0.1/32}\n"},
		{"overlay-route-bad-tables", members + "resources:\n  - overlay-route:\n      cidrs: [10.9.0.0/24, 10.9.1.5/24]\n      route-tables: [rtb-0a1b2c3d, rtb-xyz, rtb-0a1b2c3d]\nlocal-address: {interface: none, cidr: 10.9.0.1/32}\n"},
		{"overlay-route-duplicate-cidr", members + "resources:\n  - overlay-route: {cidr: 10.9.0.1/32, route-tables: all}\n  - overlay-route: {cidrs: [10.9.0.1/32], route-tables: all}\nlocal-address: {interface: none, cidr: 10.9.0.1/32}\n"},
		{"local-address-missing", members + "resources: [{overlay-route: {cidr: 10.9.0.1/32, route-tables: all}}]\n"},
		{"local-address-not-routed", members + "resources: [{overlay-route: {cidr: 10.9.0.1/32, route-tables: all}}]\nlocal-address: {cidr: 10.9.0.2/32}\n"},
		{"local-address-interface-typo", members + "local-address: {interface: nnoe}\n"},
		{"local-address-interface-bad-name", members + "local-address: {interface: eth0/1}\n"},
		{"notify-relative-paths", members + "notify: {master: notify.sh, timeout: 0s}\n"},
		{"notify-timeout-too-long", members + "notify:\n  stop: /etc/vipd/notify.sh\n  timeout: 2m\n"},
		{"notify-bad-strings", members + "notify: {backup: \"/x/n.sh 'unterminated\", fault: '  ', any: 'n.sh /abs'}\n"},
		{"reconcile-too-often", members + "reconcile: {interval: 500ms}\n"},
		{"instance-notices-bad", members + "instance-notices: {interval: 100ms, spot-interruption: mvoe, scheduled-maintenance: off, maintenance-lead: -1m}\n"},
		{"assume-role-and-endpoints", members + "aws:\n  endpoints: {ec2: 'vpce-0a1b.ec2.eu-west-1.vpce.amazonaws.com', sts: 'https://sts.eu-west-1.amazonaws.com'}\n" +
			"  assume-role: {role-arn: 'arn:aws:iam::2109876543:role/vipd', external-id: 'x'}\n" +
			"resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}\n    assume-role: {external-id: ok-id, session-name: 'vipd node a'}\n" +
			"election:\n  backend: dynamodb\n  dynamodb: {table: vipd-lease, assume-role: {role-arn: 'arn:aws:iam::210987654321:user/x'}}\n"},
		{"api-and-aws", members + "api: {socket: vipd.sock, metrics: localhost}\naws: {region: eu-west, endpoint: '127.0.0.1:4566', imds-endpoint: 'http://'}\n"},
		{"log-enums", members + "log: {format: jsno, level: verbose}\n"},
		{"shutdown-timeout", members + "shutdown: {release: false, timeout: -1s}\n"},
		{"alias-bomb", members + "health:\n  - &c {exec: {command: [&s x" + strings.Repeat(", *s", 400) + "]}}\n" + strings.Repeat("  - *c\n", 400)},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		if seen[tt.name] {
			t.Fatalf("duplicate case name %q", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "vipd.yaml")
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.yaml, c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with its error")
			}
			checkPlaced(t, err)
			got := err.Error() + "\n"
			golden := filepath.Join("testdata", "errors", tt.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("read golden (run go test -update to create it): %v", rerr)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Parse(%q) error mismatch (-want +got):\n%s", tt.yaml, diff)
			}
		})
	}
}

// checkPlaced asserts that every joined error is an *Error naming the
// source, so that callers can rely on errors.As.
func checkPlaced(t *testing.T, err error) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ce *Error
		if !errors.As(e, &ce) {
			t.Errorf("error %q is a %T, want *config.Error", e, e)
			continue
		}
		if ce.Source != "vipd.yaml" {
			t.Errorf("error %q has source %q, want vipd.yaml", e, ce.Source)
		}
	}
}

// TestParseDefaults checks what a minimal node config decodes to: every
// default from Default and DefaultCheck, and the derived ones.
func TestParseDefaults(t *testing.T) {
	src := members + `health: [{tcp: 127.0.0.1:5432}]
resources: [{overlay-route: {cidr: 192.168.100.10/32, route-tables: [rtb-0a1b2c3d]}}]
local-address: {cidr: 192.168.100.10/32}
`
	got, err := Parse([]byte(src), "min.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	release := true
	want := &Config{
		Cluster: "c",
		Node: Node{Name: "a", Advertise: "10.0.0.1:7946", Listen: "10.0.0.1:7946",
			Priority: 100, DataDir: "/var/lib/vipd/c"},
		Peers: []Peer{
			{Name: "b", Address: "10.0.0.2:7946"},
			{Name: "w", Address: "10.0.0.3:7946", Witness: true},
		},
		Election: Election{Backend: "raft", Lease: 2 * time.Second},
		Health: []Check{{Name: "tcp 127.0.0.1:5432", TCP: "127.0.0.1:5432",
			Interval: time.Second, Timeout: time.Second, Rise: 2, Fall: 2}},
		Resources: []Resource{{OverlayRoute: &OverlayRoute{
			CIDR:        netip.MustParsePrefix("192.168.100.10/32"),
			RouteTables: RouteTables{IDs: []string{"rtb-0a1b2c3d"}},
		}}},
		LocalAddress: LocalAddress{Interface: "auto", CIDR: netip.MustParsePrefix("192.168.100.10/32")},
		Notify:       Notify{Timeout: 10 * time.Second},
		Reconcile:    Reconcile{Interval: 5 * time.Second},
		InstanceNotices: InstanceNotices{Interval: 5 * time.Second, SpotInterruption: "move", RebalanceRecommendation: "report",
			ScheduledMaintenance: "move", MaintenanceLead: 10 * time.Minute, AutoScalingTermination: "move"},
		API:      API{Socket: "/run/vipd/vipd.sock"},
		AWS:      AWS{Region: "auto", CallTimeout: 2 * time.Second},
		Log:      Log{Format: "text", Level: "info"},
		Shutdown: Shutdown{Release: &release, Timeout: 10 * time.Second},
		Source:   "min.yaml",
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(prefixEqual)); diff != "" {
		t.Errorf("Parse(minimal) mismatch (-want +got):\n%s", diff)
	}
	if !got.Shutdown.ReleaseOnStop() {
		t.Errorf("ReleaseOnStop() = false by default, want true")
	}
}

func prefixEqual(a, b netip.Prefix) bool { return a == b }

// TestParseNullKeepsDefaults: `key:` with no value clears lists and
// pointers but leaves scalars and sections at their defaults, as the yaml
// package does.
func TestParseNullKeepsDefaults(t *testing.T) {
	c, err := Parse([]byte(members+"election:\nhealth:\napi: {metrics: }\nshutdown: {release: }\n"), "")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Election.Lease != 2*time.Second || c.Election.Backend != BackendRaft {
		t.Errorf("election = %+v, want the defaults", c.Election)
	}
	if c.Health != nil || c.API.Metrics != "" {
		t.Errorf("health = %v, metrics = %q; want nil and empty", c.Health, c.API.Metrics)
	}
	if c.Shutdown.Release != nil || !c.Shutdown.ReleaseOnStop() {
		t.Errorf("shutdown.release = %v, want nil (release on stop)", c.Shutdown.Release)
	}
}

// TestExamples parses every example config shipped in examples/ and checks
// that each round-trips through MarshalYAML.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.vipd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("testdata", "full.yaml"))
	if len(files) < 2 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := Load(f)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			roundTrip(t, c)
		})
	}
}

// TestFullExample pins what testdata/full.yaml, which sets every field,
// decodes to.
func TestFullExample(t *testing.T) {
	c, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	release := false
	want := &Config{
		Cluster: "orders-db",
		Node: Node{Name: "a", Advertise: "10.0.1.10:7946", Listen: "0.0.0.0:7946",
			Priority: 150, DataDir: "/srv/vipd"},
		Peers: []Peer{
			{Name: "b", Address: "10.0.2.10:7946"},
			{Name: "witness", Address: "10.0.3.10:7946", Witness: true},
		},
		Election: Election{Backend: "raft", Lease: 1500 * time.Millisecond, Preempt: true},
		Health: []Check{
			{Name: "pg", TCP: "127.0.0.1:5432", Interval: 500 * time.Millisecond,
				Timeout: 250 * time.Millisecond, Rise: 3, Fall: 1},
			{Name: "http http://127.0.0.1:8008/primary", HTTP: &HTTPCheck{URL: "http://127.0.0.1:8008/primary", Status: "200"},
				Interval: time.Second, Timeout: time.Second, Rise: 2, Fall: 2},
			{Name: "ready", Exec: &ExecCheck{Command: []string{"/usr/bin/pg_isready", "-q"}},
				Interval: 2 * time.Second, Timeout: 1500 * time.Millisecond, Rise: 1, Fall: 3},
		},
		Resources: []Resource{
			{OverlayRoute: &OverlayRoute{
				CIDR:                   netip.MustParsePrefix("192.168.100.10/32"),
				RouteTables:            RouteTables{All: true},
				DisableSourceDestCheck: true,
			}},
			{OverlayRoute: &OverlayRoute{
				CIDRs:           []netip.Prefix{netip.MustParsePrefix("192.168.101.0/24"), netip.MustParsePrefix("fd00:1::/64")},
				RouteTables:     RouteTables{IDs: []string{"rtb-0a1b2c3d", "rtb-0123456789abcdef0"}},
				DeleteOnRelease: true,
			}},
		},
		LocalAddress: LocalAddress{Interface: "ens5", CIDR: netip.MustParsePrefix("192.168.101.7/24")},
		Notify: Notify{Master: "/etc/vipd/master.sh", Backup: "/etc/vipd/backup.sh",
			Fault: "/etc/vipd/fault.sh", Stop: "/etc/vipd/stop.sh", Any: "/etc/vipd/notify.sh --log 'two words'",
			Timeout: 5 * time.Second},
		Reconcile: Reconcile{Interval: 2 * time.Second},
		InstanceNotices: InstanceNotices{Interval: 2 * time.Second, SpotInterruption: "move", RebalanceRecommendation: "move",
			ScheduledMaintenance: "report", MaintenanceLead: 30 * time.Minute, AutoScalingTermination: "ignore"},
		API: API{Socket: "/run/vipd/orders.sock", Metrics: "127.0.0.1:9757"},
		AWS: AWS{Region: "eu-west-1", Endpoint: "http://127.0.0.1:4566",
			IMDSEndpoint: "http://127.0.0.1:4567/", CallTimeout: 3 * time.Second},
		Log:      Log{Format: "json", Level: "debug"},
		Shutdown: Shutdown{Release: &release, Timeout: 20 * time.Second},
		Source:   filepath.Join("testdata", "full.yaml"),
	}
	if diff := cmp.Diff(want, c, cmp.Comparer(prefixEqual)); diff != "" {
		t.Errorf("Load(full.yaml) mismatch (-want +got):\n%s", diff)
	}
	if c.Shutdown.ReleaseOnStop() {
		t.Errorf("ReleaseOnStop() = true with release: false")
	}
}

// roundTrip marshals c and parses the output back, which must give c.
func roundTrip(t *testing.T, c *Config) {
	t.Helper()
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := Parse(out, c.Source)
	if err != nil {
		t.Fatalf("Parse(Marshal(c)): %v\n%s", err, out)
	}
	if diff := cmp.Diff(c, back, cmp.Comparer(prefixEqual)); diff != "" {
		t.Errorf("round trip mismatch (-parsed +reparsed):\n%s\nmarshalled:\n%s", diff, out)
	}
}

// TestValidateBuiltInCode covers configs assembled by other packages'
// tests: Default plus fields, DeriveDefaults, Validate; errors carry paths
// but no positions.
func TestValidateBuiltInCode(t *testing.T) {
	c := Default()
	c.Cluster = "c"
	c.Node = Node{Name: "a", Advertise: "127.0.0.1:7001", Priority: 100}
	c.Peers = []Peer{{Name: "b", Address: "127.0.0.1:7002"}, {Name: "w", Address: "127.0.0.1:7003", Witness: true}}
	chk := DefaultCheck()
	chk.TCP = "127.0.0.1:5432"
	c.Health = []Check{chk}
	c.LocalAddress.Interface = InterfaceNone
	c.DeriveDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.Node.Listen != "127.0.0.1:7001" || c.Node.DataDir != "/var/lib/vipd/c" || c.Health[0].Name != "tcp 127.0.0.1:5432" {
		t.Errorf("derived listen %q, data-dir %q, check name %q", c.Node.Listen, c.Node.DataDir, c.Health[0].Name)
	}

	c.Health[0].Fall = 0
	c.Election.Lease = time.Millisecond
	err := c.Validate()
	want := "election.lease: 1ms is shorter than the minimum 200ms\nhealth[0].fall: 0 is less than 1"
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
}

func TestStatusRange(t *testing.T) {
	tests := []struct {
		status string
		lo, hi int
		ok     bool
	}{
		{"", 200, 299, true},
		{"200", 200, 200, true},
		{"200-399", 200, 399, true},
		{"500 - 503", 500, 503, true},
		{"299-200", 0, 0, false},
		{"99", 0, 0, false},
		{"600", 0, 0, false},
		{"2xx", 0, 0, false},
		{"-", 0, 0, false},
	}
	for _, tt := range tests {
		lo, hi, err := (&HTTPCheck{Status: tt.status}).StatusRange()
		if lo != tt.lo || hi != tt.hi || (err == nil) != tt.ok {
			t.Errorf("StatusRange(%q) = %d, %d, %v; want %d, %d, ok %v", tt.status, lo, hi, err, tt.lo, tt.hi, tt.ok)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	keys := []string{"name", "address", "witness", "interval", "auto", "none", "raft"}
	tests := map[string]string{
		"adress":   ` (did you mean "address"?)`,
		"atuo":     ` (did you mean "auto"?)`,
		"RAFT":     ` (did you mean "raft"?)`,
		"intervl":  ` (did you mean "interval"?)`,
		"colour":   "",
		"x":        "",
		"witnesss": ` (did you mean "witness"?)`,
	}
	for in, want := range tests {
		if got := didYouMean(in, keys); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error wrapping os.ErrNotExist", err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "read config: ") {
		t.Errorf("Load(missing) = %q, want it to start with %q", err, "read config: ")
	}
}

// TestRouteTablesYAML covers RouteTables decoded and encoded by the yaml
// package directly, as a caller embedding it in its own type would.
func TestRouteTablesYAML(t *testing.T) {
	tests := []struct {
		in      string
		want    RouteTables
		wantErr string
	}{
		{in: "all", want: RouteTables{All: true}},
		{in: "[rtb-0a1b2c3d, rtb-0123456789abcdef0]", want: RouteTables{IDs: []string{"rtb-0a1b2c3d", "rtb-0123456789abcdef0"}}},
		{in: "{tags: [{key: vipd, value: db}, {key: env}]}", want: RouteTables{Tags: []Tag{{Key: "vipd", Value: "db"}, {Key: "env"}}}},
		{in: "none", wantErr: `want "all", a list of route table ids or {tags: [...]}, got the string "none"`},
		{in: "[[rtb-0a1b2c3d]]", wantErr: "1:2: want a route table id, got a list"},
		{in: "{a: b}", wantErr: `1:2: unknown key "a"; want tags`},
	}
	for _, tt := range tests {
		var got RouteTables
		err := yaml.Unmarshal([]byte(tt.in), &got)
		if tt.wantErr != "" {
			if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) {
				t.Errorf("Unmarshal(%q) = %v, want an error ending %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Unmarshal(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Unmarshal(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		out, err := yaml.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var back RouteTables
		if err := yaml.Unmarshal(out, &back); err != nil || !cmp.Equal(got, back) {
			t.Errorf("Marshal(%+v) = %q, which reads back as %+v, %v", got, out, back, err)
		}
	}
}
