//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsroute53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// comboWorld puts both nodes in one subnet of one AZ, as secondary-ip,
// eni and ebs-volume need (seeds 000 a and 001), with a service ENI, an
// Elastic IP and a data volume. Source/dest checks are off already: with
// the ENI attached an instance has two interfaces, and EC2 refuses the
// instance-level attribute then.
const comboWorld = `
region: us-east-1
vpcs: [{id: vpc-0c000000000000001, cidr: 10.0.0.0/16}]
subnets:
  - {id: subnet-0a000000000000001, vpc: vpc-0c000000000000001, cidr: 10.0.1.0/24, az: a}
  - {id: subnet-0c000000000000003, vpc: vpc-0c000000000000001, cidr: 10.0.3.0/24, az: c}
route-tables:
  - {id: rtb-0a000000000000001, vpc: vpc-0c000000000000001, main: true}
instances:
  - {id: i-0a000000000000001, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd, eni-id: eni-0a000000000000001, source-dest-check: false}
  - {id: i-0b000000000000002, subnet: subnet-0a000000000000001, private-ip: 10.0.1.11, role: vipd, eni-id: eni-0b000000000000002, source-dest-check: false}
  - {id: i-0c000000000000003, subnet: subnet-0c000000000000003, private-ip: 10.0.3.10}
network-interfaces:
  - {id: eni-0e000000000000001, subnet: subnet-0a000000000000001, private-ip: 10.0.1.50, description: service}
elastic-ips:
  - {id: eipalloc-0e000000000000001, public-ip: 203.0.113.50}
volumes:
  - {id: vol-0d000000000000001, az: a, size: 10}
roles:
  - name: vipd
    actions: ["ec2:*", "route53:*"]
`

// comboResources lists the kinds out of order on purpose: vipd must
// acquire them in design.md's kind order regardless.
func comboResources(zone string) []config.Resource {
	return []config.Resource{
		{Route53: &config.Route53{HostedZoneID: zone, Name: "db.example.internal", TTL: 10 * time.Second}},
		{OverlayRoute: &config.OverlayRoute{CIDR: netip.MustParsePrefix("192.168.100.10/32"), RouteTables: config.RouteTables{All: true}}},
		{ENI: &config.ENI{ID: "eni-0e000000000000001", DeviceIndex: 1, Host: config.HostNone}},
		{ElasticIP: &config.ElasticIP{AllocationID: "eipalloc-0e000000000000001", PrivateIP: "10.0.1.100"}},
		{SecondaryIP: &config.SecondaryIP{Addresses: []string{"10.0.1.100"}}},
		{EBSVolume: &config.EBSVolume{VolumeID: "vol-0d000000000000001", MountPoint: "/data", Host: config.HostNone}},
	}
}

// acquireOrder and releaseOrder are the step names vipd must report.
var (
	// design.md: … local address → overlay-route → route53. Release
	// unbinds the local address first (it needs no AWS call and makes the
	// host stop answering at once), then goes in reverse.
	acquireOrder = []string{"ebs-volume vol-0d000000000000001", "eni eni-0e000000000000001", "secondary-ip 10.0.1.100", "elastic-ip eipalloc-0e000000000000001",
		"local-address", "overlay-route 192.168.100.10/32", "route53 db.example.internal. A"}
	releaseOrder = []string{"local-address", "route53 db.example.internal. A", "overlay-route 192.168.100.10/32",
		"elastic-ip eipalloc-0e000000000000001", "secondary-ip 10.0.1.100", "eni eni-0e000000000000001", "ebs-volume vol-0d000000000000001"}
)

// comboMember is one vipd process of the combined cluster.
type comboMember struct {
	name, instance, addr, dir, socket, config string
	witness                                   bool
	health                                    net.Listener         // the "service" its tcp check probes
	edit                                      func(*config.Config) // changes its configuration
	proc                                      *exec.Cmd
	done                                      chan error
}

type combo struct {
	t       *testing.T
	bin     string
	sim     *vpcsim.Server
	r53     *awsroute53.Client
	zone    string
	members []*comboMember
}

func startCombo(t *testing.T, opts ...func(*comboMember)) *combo {
	t.Helper()
	c := &combo{t: t, bin: vipdBin(t)}
	c.sim = vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, comboWorld))
	// vpcsim serves Route 53 on its own listener, next to EC2.
	c.r53 = awsroute53.NewFromConfig(vpcsimtest.AdminConfig(t, c.sim))
	out, err := c.r53.CreateHostedZone(t.Context(), &awsroute53.CreateHostedZoneInput{
		Name: aws.String("example.internal"), CallerReference: aws.String("e2e"),
		HostedZoneConfig: &types.HostedZoneConfig{PrivateZone: true},
		VPC:              &types.VPC{VPCId: aws.String("vpc-0c000000000000001"), VPCRegion: types.VPCRegionUsEast1},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.zone = strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")

	root := t.TempDir()
	for _, m := range []*comboMember{
		{name: "a", instance: "i-0a000000000000001"},
		{name: "b", instance: "i-0b000000000000002"},
		{name: "witness", instance: "i-0c000000000000003", witness: true},
	} {
		m.dir = filepath.Join(root, m.name)
		m.socket = filepath.Join(m.dir, "vipd.sock")
		m.config = filepath.Join(m.dir, "vipd.yaml")
		if err := os.MkdirAll(m.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		m.addr = l.Addr().String()
		l.Close() // the port is picked; the node binds it
		if !m.witness {
			c.serve(m)
		}
		c.members = append(c.members, m)
	}
	for _, m := range c.members {
		for _, o := range opts {
			o(m)
		}
		if err := simcluster.WriteConfig(m.config, c.config(m)); err != nil {
			t.Fatal(err)
		}
		c.start(m)
	}
	t.Cleanup(func() {
		for _, m := range c.members {
			c.stop(m, syscall.SIGTERM)
		}
		if t.Failed() {
			for _, m := range c.members {
				b, _ := os.ReadFile(filepath.Join(m.dir, "vipd.log"))
				t.Logf("log of %s:\n%s", m.name, b)
			}
		}
	})
	return c
}

// serve opens m's health-checked service: a listener that accepts and
// closes connections.
func (c *combo) serve(m *comboMember) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	m.health = l
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	c.t.Cleanup(func() { l.Close() })
}

// sim is m as the simulated cluster's helpers see it.
func (m *comboMember) sim() simcluster.Member {
	return simcluster.Member{Name: m.name, InstanceID: m.instance, Witness: m.witness, Advertise: m.addr, Dir: m.dir}
}

func (c *combo) config(m *comboMember) *config.Config {
	var sims []simcluster.Member
	for _, p := range c.members {
		sims = append(sims, p.sim())
	}
	cfg := simcluster.BaseConfig("combo", m.sim(), sims, config.LogText)
	cfg.Log.Level = config.LogDebug
	release := true
	cfg.Shutdown = config.Shutdown{Release: &release, Timeout: 10 * time.Second}
	if m.edit != nil {
		m.edit(cfg)
	}
	if m.witness {
		return cfg
	}
	cfg.Health = []config.Check{simcluster.ServiceCheck(m.health.Addr().String(), 200*time.Millisecond)}
	cfg.Resources = comboResources(c.zone)
	cfg.LocalAddress = config.LocalAddress{Interface: config.InterfaceNone, CIDR: netip.MustParsePrefix("192.168.100.10/32")}
	cfg.AWS.Region, cfg.AWS.Endpoint, cfg.AWS.IMDSEndpoint = "us-east-1", c.sim.URL(), c.sim.IMDSURL(m.instance)
	return cfg
}

func (c *combo) start(m *comboMember) {
	logf, err := os.OpenFile(filepath.Join(m.dir, "vipd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, "run", "--config", m.config)
	cmd.Env = c.env(m)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.t.Fatal(err)
	}
	m.proc, m.done = cmd, make(chan error, 1)
	go func() { m.done <- cmd.Wait(); logf.Close() }()
}

// env is the environment m's vipd runs with: vpcsim for AWS and IMDS,
// nothing of the caller's AWS configuration.
func (c *combo) env(m *comboMember) []string {
	return simcluster.Env(m.sim(), c.sim.URL(), c.sim.IMDSURL(m.instance))
}

// stop signals m and waits for it, SIGKILL after 10 s.
func (c *combo) stop(m *comboMember, sig syscall.Signal) {
	if m.proc == nil {
		return
	}
	_ = m.proc.Process.Signal(sig)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.proc.Process.Kill()
		<-m.done
	}
	m.proc = nil
}

func (c *combo) byName(name string) *comboMember {
	for _, m := range c.members {
		if m.name == name {
			return m
		}
	}
	c.t.Fatalf("no member %s", name)
	return nil
}

func (c *combo) status(name string) (admin.Status, error) {
	ctx, cancel := context.WithTimeout(c.t.Context(), time.Second)
	defer cancel()
	return admin.NewClient(c.byName(name).socket).Status(ctx)
}

// waitPrimary waits until one node reports primary with every resource in
// sync, and returns it.
func (c *combo) waitPrimary(within time.Duration, not string) string {
	c.t.Helper()
	deadline := time.Now().Add(within)
	var last []string
	for time.Now().Before(deadline) {
		last = last[:0]
		for _, n := range []string{"a", "b"} {
			st, err := c.status(n)
			if err != nil {
				last = append(last, n+": "+err.Error())
				continue
			}
			last = append(last, n+": "+st.Role)
			if st.Role == "primary" && n != not {
				return n
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no primary within %s: %v", within, last)
	return ""
}

// world is where vpcsim and Route 53 say each resource is.
type world struct {
	route, secondary, eip, volume, volumeStatus, record, eni, eniStatus string
}

func (c *combo) world() world {
	c.t.Helper()
	st := c.sim.Snapshot()
	var w world
	enis := map[string]string{}
	for _, e := range st.NetworkInterfaces {
		enis[e.ID] = e.Instance
		if e.ID == "eni-0e000000000000001" {
			w.eni, w.eniStatus = e.Instance, e.AttachmentStatus
		}
		if slices.Contains(e.SecondaryIPs, "10.0.1.100") {
			w.secondary = e.Instance
		}
	}
	for _, rt := range st.RouteTables {
		for _, r := range rt.Routes {
			if r.Destination == "192.168.100.10/32" {
				w.route = enis[r.NetworkInterfaceID]
			}
		}
	}
	for _, e := range st.ElasticIPs {
		w.eip = e.Instance
	}
	for _, v := range st.Volumes {
		w.volume, w.volumeStatus = v.Instance, v.AttachmentStatus
	}
	out, err := c.r53.ListResourceRecordSets(c.t.Context(), &awsroute53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(c.zone), StartRecordName: aws.String("db.example.internal."), StartRecordType: types.RRTypeA, MaxItems: aws.Int32(1)})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, s := range out.ResourceRecordSets {
		if aws.ToString(s.Name) == "db.example.internal." {
			w.record = aws.ToString(s.ResourceRecords[0].Value)
		}
	}
	return w
}

// waitWorld waits until the world says node owns everything.
func (c *combo) waitWorld(node string, within time.Duration) {
	c.t.Helper()
	m := c.byName(node)
	ip := map[string]string{"a": "10.0.1.10", "b": "10.0.1.11"}[node]
	want := world{route: m.instance, secondary: m.instance, eip: m.instance, volume: m.instance, volumeStatus: "attached", record: ip,
		eni: m.instance, eniStatus: "attached"}
	deadline := time.Now().Add(within)
	var got world
	for time.Now().Before(deadline) {
		if got = c.world(); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("world after %s: %+v, want everything on %s: %+v", within, got, node, want)
}

// lastSteps returns the resource names of node's newest transition with
// steps of op, in order.
func (c *combo) lastSteps(node, op string) []string {
	c.t.Helper()
	st, err := c.status(node)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := len(st.Transitions) - 1; i >= 0; i-- {
		var names []string
		for _, s := range st.Transitions[i].Steps {
			if s.Op == op {
				names = append(names, s.Resource)
			}
		}
		if len(names) > 0 {
			return names
		}
	}
	return nil
}

// writes returns the actions among want that instance made successfully
// since seq, in the order of their first call.
func (c *combo) writes(instance string, since uint64, want []string) []string {
	var out []string
	for _, call := range c.sim.Calls(since) {
		if call.Caller == instance && call.Code == "" && slices.Contains(want, call.Action) && !slices.Contains(out, call.Action) {
			out = append(out, call.Action)
		}
	}
	return out
}

func lastSeq(s *vpcsim.Server) uint64 {
	calls := s.Calls(0)
	if len(calls) == 0 {
		return 0
	}
	return calls[len(calls)-1].Seq
}

// TestCombinedResourcesFailOverInOrder runs a cluster whose nodes own an
// EBS volume and an ENI (both host none), a secondary IP with an Elastic IP on it, an
// overlay route, and a Route 53 record, and shows, from vpcsim's state and
// call log and from vipd status, that they are acquired in design.md's
// kind order, fail over together on kill -9, and are released in reverse
// on a planned switchover.
func TestCombinedResourcesFailOverInOrder(t *testing.T) {
	c := startCombo(t)
	p := c.waitPrimary(30*time.Second, "")
	c.waitWorld(p, 10*time.Second)
	if got := c.lastSteps(p, "acquire"); !slices.Equal(got, acquireOrder) {
		t.Errorf("%s's acquire steps = %q, want %q", p, got, acquireOrder)
	}

	// kill -9: the survivor takes everything, in order, from an owner that
	// released nothing.
	q := other(p)
	seq := lastSeq(c.sim)
	c.stop(c.byName(p), syscall.SIGKILL)
	if got := c.waitPrimary(30*time.Second, p); got != q {
		t.Fatalf("primary after killing %s = %s", p, got)
	}
	c.waitWorld(q, 10*time.Second)
	if got := c.lastSteps(q, "acquire"); !slices.Equal(got, acquireOrder) {
		t.Errorf("%s's acquire steps = %q, want %q", q, got, acquireOrder)
	}
	// The Elastic IP is on the secondary address and moved with it (EC2
	// does that in AssignPrivateIpAddresses), so elastic-ip finds it in
	// place and writes nothing.
	wantAcquire := []string{"DetachVolume", "AttachVolume", "DetachNetworkInterface", "AttachNetworkInterface", "AssignPrivateIpAddresses", "ReplaceRoute"}
	if got := c.writes(c.byName(q).instance, seq, wantAcquire); !slices.Equal(got, wantAcquire) {
		t.Errorf("%s's EC2 writes after the kill = %q, want %q", q, got, wantAcquire)
	}

	// Bring p back as backup, then hand over to it: q releases in reverse.
	c.start(c.byName(p))
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := c.status(q)
		if err == nil && slices.ContainsFunc(st.Peers, func(pe admin.Peer) bool { return pe.Name == p && pe.Reachable && pe.Eligible }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come back as an eligible peer of %s: %+v, %v", p, q, st.Peers, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A clean stop of q (SIGTERM, shutdown.release: true) releases in
	// reverse order under q's still valid grant, then hands the lease on.
	// (A raft switchover moves the grant first, so the old owner's release
	// is fenced off and writes nothing; the new owner takes over instead.)
	seq = lastSeq(c.sim)
	c.stop(c.byName(q), syscall.SIGTERM)
	if got := c.waitPrimary(30*time.Second, q); got != p {
		t.Fatalf("primary after stopping %s = %s", q, got)
	}
	c.waitWorld(p, 20*time.Second)
	wantRelease := []string{"DisassociateAddress", "UnassignPrivateIpAddresses", "DetachNetworkInterface", "DetachVolume"}
	if got := c.writes(c.byName(q).instance, seq, wantRelease); !slices.Equal(got, wantRelease) {
		t.Errorf("%s's EC2 writes on a clean stop = %q, want %q", q, got, wantRelease)
	}
	for _, call := range c.sim.Calls(seq) {
		if call.Caller == c.byName(q).instance && slices.Contains(wantRelease, call.Action) && call.Token == 0 {
			t.Errorf("%s's %s carried no fencing token", q, call.Action)
		}
	}
	if got := c.lastSteps(p, "acquire"); !slices.Equal(got, acquireOrder) {
		t.Errorf("%s's acquire steps after the handover = %q, want %q", p, got, acquireOrder)
	}
	var buf bytes.Buffer
	for _, call := range c.sim.Calls(seq) {
		if !strings.HasPrefix(call.Action, "Describe") {
			fmt.Fprintf(&buf, "  %s %s token %d %s\n", call.Caller, call.Action, call.Token, call.Code)
		}
	}
	t.Logf("EC2 writes of the handover:\n%s", buf.String())
}
