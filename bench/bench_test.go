package bench

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSummarize(t *testing.T) {
	s := time.Second
	rounds := []Round{
		{OK: true, Failover: 3 * s, AllRouted: 4 * s, Calls: callCount{All: 4, Writes: 2}},
		{OK: true, Failover: 1 * s, AllRouted: 2 * s, Calls: callCount{All: 2, Writes: 2, Throttled: 1}, BothMaster: s},
		{OK: false, Calls: callCount{All: 0}, Err: "no failover", Stale: true},
		{OK: true, Failover: 2 * s, AllRouted: 3 * s, Calls: callCount{All: 6, Writes: 4}},
		{OK: true, Failover: 10 * s, AllRouted: 11 * s, Calls: callCount{All: 8, Writes: 4}},
	}
	got := Summarize(rounds)
	want := Summary{
		N: 5, OK: 4,
		Median: 2500 * time.Millisecond, P95: 10 * s, Max: 10 * s,
		RoutedMedian: 3500 * time.Millisecond, RoutedMax: 11 * s,
		Calls: 4, Writes: 2.4, Throttled: 1,
		BothMaster: s, RoundsBothMaster: 1, StaleAfterHeal: 1, Errors: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Summary{}, Summarize(nil)); diff != "" {
		t.Errorf("Summarize(nil) (-want +got):\n%s", diff)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{ms(5), 95, 5 * time.Millisecond},
		{ms(1, 2, 3), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2500 * time.Microsecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 95, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21), 95, 20 * time.Millisecond},
	} {
		if got := percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
		}
	}
}

func TestBlock(t *testing.T) {
	for n, want := range map[int]string{1: "192.168.100.10/32", 2: "192.168.100.0/28", 10: "192.168.100.0/28", 16: "192.168.100.0/28", 17: "192.168.100.0/27", 100: "192.168.100.0/25"} {
		got := block(n)
		if got.String() != want {
			t.Errorf("block(%d) = %s, want %s", n, got, want)
		}
		if !got.Contains(failoverVIP) {
			t.Errorf("block(%d) = %s does not hold the probed VIP %s", n, got, failoverVIP)
		}
		if size := 1 << (32 - got.Bits()); size < n {
			t.Errorf("block(%d) = %s holds only %d addresses", n, got, size)
		}
	}
}

// TestWorld checks that the generated world loads and has the tables the
// scale grid names.
func TestKeepalivedFiles(t *testing.T) {
	a := &simcluster.Host{Member: simcluster.Member{Name: "a"}, Addr: netip.MustParseAddr("10.0.1.10")}
	b := &simcluster.Host{Member: simcluster.Member{Name: "b"}, Addr: netip.MustParseAddr("10.0.2.10")}
	conf := keepalivedConf(a, b, 100, "192.168.100.10", "/d")
	for _, want := range []string{"state BACKUP", "nopreempt", "advert_int 1", "priority 100",
		"unicast_src_ip 10.0.1.10", "10.0.2.10", "track_script", `notify_master "/d/notify.sh master"`} {
		if !strings.Contains(conf, want) {
			t.Errorf("keepalived.conf lacks %q:\n%s", want, conf)
		}
	}
	script := notifyScript("/opt/bin/aws", "us-east-1", "192.168.100.10", []string{"rtb-1", "rtb-2"}, "/d")
	for _, want := range []string{"for RT in rtb-1 rtb-2", "replace-route", "create-route", "--instance-id $INSTANCE",
		"X-aws-ec2-metadata-token", "export PATH=/opt/bin:"} {
		if !strings.Contains(script, want) {
			t.Errorf("notify.sh lacks %q:\n%s", want, script)
		}
	}
}

func TestReadStat(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.rssKiB <= 0 {
		t.Errorf("rss of this test = %d KiB, want > 0", st.rssKiB)
	}
	if st.state == "" || st.state == "Z" {
		t.Errorf("state of this test = %q", st.state)
	}
}

func TestRouteOwner(t *testing.T) {
	// routeOwner reads vpcsim's snapshot; with no route for the block it
	// names nobody.
	fab, err := simcluster.StartLoopback(t.Context(), simcluster.World("bench", 4), vpcsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := simcluster.New(simcluster.Options{Name: "bench", Fabric: fab, Dir: t.TempDir(),
		Hosts: []simcluster.Member{{Name: "a", InstanceID: simcluster.InstanceA}, {Name: "b", InstanceID: simcluster.InstanceB}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := &env{c: c, srv: c.Srv}
	if got := e.routeOwner(netip.MustParsePrefix("192.168.100.10/32"), simcluster.TableIDs(4)); got != "" {
		t.Errorf("routeOwner with no routes = %q, want none", got)
	}
}

// TestStormFloor: the floor is what EC2's mutating bucket (50, refilled
// at 5 a second; "Request throttling for the Amazon EC2 API",
// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html)
// allows from a full bucket: the 100 writes take about 10 s.
func TestStormFloor(t *testing.T) {
	for writes, want := range map[int]time.Duration{10: 0, 50: 0, 51: 200 * time.Millisecond, 100: 10 * time.Second, 200: 30 * time.Second, 500: 90 * time.Second} {
		if got := stormFloor(writes); got != want {
			t.Errorf("stormFloor(%d) = %s, want %s", writes, got, want)
		}
	}
}

// TestStormWorld: the storm's account loads in vpcsim with every
// cluster's nodes, tables and distinct addresses, and a cluster's tables
// route its address to its node a, as its last owner left them.
func TestStormWorld(t *testing.T) {
	srv, err := vpcsim.New(stormWorld(StormOptions{Clusters: 300, Tables: 2}, false), vpcsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := srv.Snapshot()
	if got, want := len(st.Instances), 600; got != want {
		t.Errorf("instances = %d, want %d", got, want)
	}
	if got, want := len(st.RouteTables), 601; got != want {
		t.Errorf("route tables = %d, want %d (main and 2 per cluster)", got, want)
	}
	vips := map[netip.Prefix]bool{}
	for i := range 300 {
		vips[stormVIP(i)] = true
	}
	if len(vips) != 300 {
		t.Errorf("%d distinct addresses for 300 clusters", len(vips))
	}
	want := map[string]string{stormTable(7, 0): stormENI('a', 7), stormTable(7, 1): stormENI('a', 7)}
	if diff := cmp.Diff(want, simcluster.RouteTargets(st, stormVIP(7), []string{stormTable(7, 0), stormTable(7, 1)})); diff != "" {
		t.Errorf("cluster 8's routes (-want +got):\n%s", diff)
	}
}

// TestStormPrefixes: 25 addresses are one /27 when they can be merged,
// else 25 /32s each in a /24 of its own, so that a block holding two would
// hold hundreds of addresses that are not the cluster's; clusters do not
// overlap.
func TestStormPrefixes(t *testing.T) {
	merged := stormPrefixes(0, StormOptions{Addresses: 25, Mergeable: true})
	if len(merged) != 1 || merged[0].Bits() != 27 {
		t.Errorf("25 mergeable addresses = %v, want one /27", merged)
	}
	var all []netip.Prefix
	for i := range 2 {
		all = append(all, stormPrefixes(i, StormOptions{Addresses: 25})...)
	}
	if len(all) != 50 {
		t.Fatalf("2 clusters of 25 separate addresses = %d prefixes, want 50", len(all))
	}
	for i, p := range all {
		if p.Bits() != 32 {
			t.Errorf("%s is not one address", p)
		}
		for _, q := range all[i+1:] {
			if netip.PrefixFrom(p.Addr(), 24).Masked().Contains(q.Addr()) {
				t.Errorf("%s and %s share a /24", p, q)
			}
		}
	}
}

// requireTool skips a test whose tool is missing, or fails it under
// CI=true: .ci/run installs it, and CI must not pass by skipping.
func requireTool(t *testing.T, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: %v", what, err)
	}
	t.Skipf("%s: %v", what, err)
}

// The Pacemaker baseline runs Debian's aws-vpc-move-ip agent unchanged in
// the survivor's namespace of the netns fabric: its start action reads the
// instance from IMDS, moves the route in every table to this instance's
// ENI with the AWS CLI (one ReplaceRoute per table) and binds the address,
// so that the client is served by the survivor and the action reports
// OCF_SUCCESS. The benchmark's figures for it are only as good as this.
func TestPacemakerAgentMovesTheAddress(t *testing.T) {
	if os.Geteuid() != 0 {
		requireTool(t, "root (the netns fabric)", errors.New("not root"))
	}
	if _, err := os.Stat(MoveIPAgent); err != nil {
		requireTool(t, "the aws-vpc-move-ip agent (apt-get install resource-agents)", err)
	}
	if _, err := awsCLI(); err != nil {
		requireTool(t, "the AWS CLI (pip install awscli)", err)
	}
	o := Options{Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	o.defaults()
	const tables = 2
	rounds, err := runPacemaker(t.Context(), o, tables, 1)
	if err != nil {
		t.Fatalf("runPacemaker(%d tables, 1 round): %v", tables, err)
	}
	if len(rounds) != 1 {
		t.Fatalf("runPacemaker returned %d rounds, want 1", len(rounds))
	}
	r := rounds[0]
	if !r.OK || r.Exit != 0 || r.AllRouted == 0 {
		t.Errorf("agent round = %+v; want the client served by the survivor, exit 0 and every table routed to it", r)
	}
	if r.Calls.Writes != tables {
		t.Errorf("agent made %d writes (%v), want %d: one ReplaceRoute per table", r.Calls.Writes, r.Calls.WriteLog, tables)
	}
}
