package netns_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/vishvananda/netlink"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/netns"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// needRoot skips the test unless it runs as root; under CI=true it fails,
// since CI runs as root and a skip there would hide the fabric's tests.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the netns fabric needs root (CI runs as root)")
	}
	t.Skip("the netns fabric needs root")
}

const world = `
region: us-east-1
vpcs:
  - {id: vpc-0e000000000000001, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-0a000000000000001, vpc: vpc-0e000000000000001, cidr: 10.0.1.0/24, az: a}
  - {id: subnet-0b000000000000002, vpc: vpc-0e000000000000001, cidr: 10.0.2.0/24, az: b}
  - {id: subnet-0d000000000000004, vpc: vpc-0e000000000000001, cidr: 10.0.4.0/24, az: a}
route-tables:
  - id: rtb-0a000000000000001
    vpc: vpc-0e000000000000001
    subnets: [subnet-0a000000000000001, subnet-0b000000000000002]
  - id: rtb-0d000000000000004
    vpc: vpc-0e000000000000001
    main: true
    subnets: [subnet-0d000000000000004]
    routes:
      - {destination: 192.168.100.10/32, network-interface: eni-0a000000000000001}
instances:
  - {id: i-0a000000000000001, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, eni-id: eni-0a000000000000001,
     secondary-ips: [10.0.1.50], source-dest-check: false}
  - {id: i-0b000000000000002, subnet: subnet-0b000000000000002, private-ip: 10.0.2.10, eni-id: eni-0b000000000000002,
     source-dest-check: false}
  - {id: i-0c000000000000003, subnet: subnet-0a000000000000001, private-ip: 10.0.1.20, eni-id: eni-0c000000000000003}
  - {id: i-0d000000000000004, subnet: subnet-0d000000000000004, private-ip: 10.0.4.10}
network-interfaces:
  - {id: eni-0e000000000000005, subnet: subnet-0a000000000000001, private-ip: 10.0.1.60, mac: "02:aa:bb:cc:dd:01",
     instance: i-0a000000000000001, device-index: 1}
`

const (
	instA    = "i-0a000000000000001"
	instB    = "i-0b000000000000002"
	instC    = "i-0c000000000000003"
	client   = "i-0d000000000000004"
	eniA     = "eni-0a000000000000001"
	eniB     = "eni-0b000000000000002"
	eniC     = "eni-0c000000000000003"
	extraENI = "eni-0e000000000000005"
	rtbApp   = "rtb-0d000000000000004"
	port     = "7777"
	limit    = 10 * time.Second // bounds every wait for an observable
)

var vip = netip.MustParseAddr("192.168.100.10")

type env struct {
	srv *vpcsim.Server
	fab *netns.Fabric
	ec2 *ec2.Client
}

// start brings up vpcsim, the fabric (running until the test ends) and a
// service in every instance but the client that answers its instance ID.
func start(t *testing.T) *env {
	t.Helper()
	return startWorld(t, world)
}

// startWorld is start on another world with the same instances.
func startWorld(t *testing.T, w string) *env {
	t.Helper()
	needRoot(t)
	srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, w))
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	fab, err := netns.New(srv, netns.Options{Log: log, Resync: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("new fabric: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fab.Run(ctx) }()
	var lns []net.Listener
	var wg sync.WaitGroup
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		wg.Wait()
		cancel()
		<-done
		left, err := netns.Namespaces(fab.Prefix())
		if err != nil || len(left) > 0 {
			t.Errorf("namespaces left behind: %v (%v)", left, err)
		}
	})
	for _, id := range []string{instA, instB, instC} {
		ln, err := fab.Listen(id, "[::]:"+port) // IPv4 and IPv6
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		wg.Go(func() { serveName(ln, id) })
	}
	return &env{srv: srv, fab: fab, ec2: ec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv))}
}

func serveName(ln net.Listener, name string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.WriteString(c, name+"\n")
		c.Close()
	}
}

// bind adds addresses to an instance's eth0, as vipd would for a VIP.
func (e *env) bind(t *testing.T, instanceID string, addrs ...netip.Addr) {
	t.Helper()
	err := e.fab.Do(instanceID, func() error {
		l, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		for _, a := range addrs {
			na := &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(a.BitLen(), a.BitLen())}}
			if a.Is6() {
				na.Flags = unix.IFA_F_NODAD // usable at once, as vipd binds it
			}
			if err := netlink.AddrAdd(l, na); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("bind %v in %s: %v", addrs, instanceID, err)
	}
}

// reach asks the service at addr, from the client namespace, who answers.
func (e *env) reach(ctx context.Context, from string, addr netip.Addr) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	c, err := e.fab.Dial(ctx, from, "tcp", net.JoinHostPort(addr.String(), port))
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	s, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(s), err
}

// waitReach polls until the client reaches want at addr.
func (e *env) waitReach(t *testing.T, addr netip.Addr, want string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var got string
	var err error
	for time.Now().Before(deadline) {
		if got, err = e.reach(t.Context(), client, addr); err == nil && got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("client reaching %s: got %q (err %v), want %q", addr, got, err, want)
}

func TestOverlayRouteFollowsReplaceRoute(t *testing.T) {
	e := start(t)
	e.bind(t, instA, vip)
	e.bind(t, instB, vip)
	e.waitReach(t, vip, instA)
	_, err := e.ec2.ReplaceRoute(t.Context(), &ec2.ReplaceRouteInput{RouteTableId: aws.String(rtbApp),
		DestinationCidrBlock: aws.String(vip.String() + "/32"), NetworkInterfaceId: aws.String(eniB)})
	if err != nil {
		t.Fatal(err)
	}
	e.waitReach(t, vip, instB)

	// A target with its source/destination check on drops the VIP's
	// packets, as AWS does: the route becomes a blackhole.
	_, err = e.ec2.ModifyInstanceAttribute(t.Context(), &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(instB),
		SourceDestCheck: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(limit)
	for {
		if _, err := e.reach(t.Context(), client, vip); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the VIP stayed reachable through an ENI with source/dest check on")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSecondaryIPMovesWithAssignment(t *testing.T) {
	e := start(t)
	sec := netip.MustParseAddr("10.0.1.50")
	e.bind(t, instA, sec)
	e.bind(t, instC, sec) // both hold it locally: only the VPC's routing decides
	e.waitReach(t, sec, instA)
	_, err := e.ec2.AssignPrivateIpAddresses(t.Context(), &ec2.AssignPrivateIpAddressesInput{
		NetworkInterfaceId: aws.String(eniC), PrivateIpAddresses: []string{sec.String()}, AllowReassignment: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	e.waitReach(t, sec, instC)
}

// policyRoute is seed 000 part a's `ip rule from <ip> table 100` with a
// default route via the subnet router on the interface with the ENI's MAC;
// vipd's eni resource does the same with netlink.
func (e *env) policyRoute(t *testing.T, instanceID string, from netip.Addr) {
	t.Helper()
	err := e.fab.Do(instanceID, func() error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Attrs().HardwareAddr.String() != "02:aa:bb:cc:dd:01" {
				continue
			}
			r := netlink.NewRule()
			r.Src, r.Table, r.Priority = &net.IPNet{IP: from.AsSlice(), Mask: net.CIDRMask(32, 32)}, 100, 100
			if err := netlink.RuleAdd(r); err != nil {
				return err
			}
			return netlink.RouteReplace(&netlink.Route{Table: 100, LinkIndex: l.Attrs().Index, Gw: net.ParseIP("10.0.1.1")})
		}
		return errors.New("no interface with the ENI's MAC")
	})
	if err != nil {
		t.Fatalf("policy routing in %s: %v", instanceID, err)
	}
}

func TestENIMovesBetweenNamespaces(t *testing.T) {
	e := start(t)
	extraIP := netip.MustParseAddr("10.0.1.60")
	// A has its source/destination check off: replies from the extra
	// ENI's address may leave by eth0.
	e.waitReach(t, extraIP, instA)
	out, err := e.ec2.DescribeNetworkInterfaces(t.Context(), &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{extraENI}})
	if err != nil || len(out.NetworkInterfaces) != 1 {
		t.Fatalf("describe %s: %v", extraENI, err)
	}
	attachment := aws.ToString(out.NetworkInterfaces[0].Attachment.AttachmentId)
	if _, err := e.ec2.DetachNetworkInterface(t.Context(), &ec2.DetachNetworkInterfaceInput{AttachmentId: aws.String(attachment)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, extraENI, "available")
	if _, err := e.ec2.AttachNetworkInterface(t.Context(), &ec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(extraENI),
		InstanceId: aws.String(instC), DeviceIndex: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e, extraENI, "in-use")
	if err := e.fab.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	// C checks: without policy routing the reply leaves by eth0, whose ENI
	// may send only its own addresses, and is dropped, as on EC2.
	if s, err := e.reach(t.Context(), client, extraIP); err == nil {
		t.Fatalf("reached %s on %s without policy routing (%s)", extraIP, instC, s)
	}
	e.policyRoute(t, instC, extraIP)
	e.waitReach(t, extraIP, instC)
	mac := func(id string) (string, error) {
		var got string
		err := e.fab.Do(id, func() error {
			links, err := netlink.LinkList()
			if err != nil {
				return err
			}
			for _, l := range links {
				if l.Attrs().HardwareAddr.String() == "02:aa:bb:cc:dd:01" {
					got = l.Attrs().Name
				}
			}
			return nil
		})
		return got, err
	}
	if name, err := mac(instC); err != nil || name != "eth1" {
		t.Errorf("in %s the ENI's MAC is on %q (err %v), want eth1", instC, name, err)
	}
	if name, err := mac(instA); err != nil || name != "" {
		t.Errorf("in %s the ENI's MAC is still on %q (err %v)", instA, name, err)
	}
}

func waitStatus(t *testing.T, e *env, eniID, want string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		for _, x := range e.srv.Snapshot().NetworkInterfaces {
			if x.ID == eniID && x.Status == want {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not become %s", eniID, want)
}

// imdsGet fetches an IMDSv2 path from inside an instance namespace.
func imdsGet(ctx context.Context, e *env, instanceID, path string) (string, error) {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return e.fab.Dial(ctx, instanceID, network, addr)
	}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 500 * time.Millisecond}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+netns.IMDSAddr+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+netns.IMDSAddr+path, nil)
	req.Header.Set("X-aws-ec2-metadata-token", string(tok))
	resp, err = hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(resp.Status)
	}
	return string(b), err
}

// apiFrom calls the EC2 API from inside an instance's namespace.
func (e *env) apiFrom(instanceID string) error {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return e.fab.Dial(ctx, instanceID, network, addr)
	}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 500 * time.Millisecond}
	resp, err := hc.Get("http://" + netns.APIAddr + "/?Action=DescribeRegions")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode == 0 {
		return errors.New("no status")
	}
	return nil
}

// TestStoppedInstanceIsCutOff: an instance EC2 reports stopped runs
// nothing, so nothing in its namespace reaches the others or the API,
// and nothing reaches it, until it runs again. STONITH tests rely on it:
// a fenced old owner whose process the harness leaves running acts no
// more than a stopped instance would.
func TestStoppedInstanceIsCutOff(t *testing.T) {
	e := start(t)
	b, c := netip.MustParseAddr("10.0.2.10"), netip.MustParseAddr("10.0.1.20")
	bReaches := func() bool { s, err := e.reach(t.Context(), instB, c); return err == nil && s == instC }
	reachesB := func() bool { s, err := e.reach(t.Context(), instA, b); return err == nil && s == instB }
	if !bReaches() || !reachesB() || e.apiFrom(instB) != nil {
		t.Fatal("B is not reachable, cannot reach C or the API before it stops")
	}
	if err := e.srv.SetInstanceState(instB, "stopped"); err != nil {
		t.Fatal(err)
	}
	if err := e.fab.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if bReaches() {
		t.Error("a stopped instance reaches another")
	}
	if reachesB() {
		t.Error("a stopped instance is reached")
	}
	if err := e.apiFrom(instB); err == nil {
		t.Error("a stopped instance reaches the EC2 API")
	}
	if err := e.srv.SetInstanceState(instB, "running"); err != nil {
		t.Fatal(err)
	}
	if err := e.fab.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !bReaches() || !reachesB() || e.apiFrom(instB) != nil {
		t.Error("B is not back after it runs again")
	}
}

func TestIMDSAndAPIInsideNamespace(t *testing.T) {
	e := start(t)
	got, err := imdsGet(t.Context(), e, instB, "/latest/meta-data/instance-id")
	if err != nil || got != instB {
		t.Fatalf("instance-id from inside %s: %q, %v", instB, got, err)
	}
	if err := e.fab.CutIMDS(instB, true); err != nil {
		t.Fatal(err)
	}
	if got, err := imdsGet(t.Context(), e, instB, "/latest/meta-data/instance-id"); err == nil {
		t.Fatalf("IMDS answered %q while cut", got)
	}
	if err := e.fab.CutIMDS(instB, false); err != nil {
		t.Fatal(err)
	}
	if got, err := imdsGet(t.Context(), e, instB, "/latest/meta-data/instance-id"); err != nil || got != instB {
		t.Fatalf("instance-id after the cut healed: %q, %v", got, err)
	}

	api := func() error {
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return e.fab.Dial(ctx, instB, network, addr)
		}}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr, Timeout: 500 * time.Millisecond}
		resp, err := hc.Get("http://" + netns.APIAddr + "/?Action=DescribeRegions")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode == 0 {
			return errors.New("no status")
		}
		return nil
	}
	if err := api(); err != nil {
		t.Fatalf("EC2 API from inside %s: %v", instB, err)
	}
	if err := e.fab.CutAPI(instB, true); err != nil {
		t.Fatal(err)
	}
	if err := api(); err == nil {
		t.Fatal("EC2 API answered while cut")
	}
	if err := e.fab.CutAPI(instB, false); err != nil {
		t.Fatal(err)
	}
	if err := api(); err != nil {
		t.Fatalf("EC2 API after the cut healed: %v", err)
	}
}

// A slow metadata service answers every request late, and on time again
// once restored (the fault suite's imds-slow).
func TestSlowIMDS(t *testing.T) {
	e := start(t)
	const d = 300 * time.Millisecond
	if err := e.fab.SlowIMDS(instB, d); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	begin := time.Now()
	// Two requests (token, then instance-id), each held for d and within
	// imdsGet's 500 ms per request: late, but answered.
	got, err := imdsGet(ctx, e, instB, "/latest/meta-data/instance-id")
	if err != nil {
		t.Fatalf("instance-id through a slow IMDS: %v", err)
	}
	if took := time.Since(begin); got != instB || took < 2*d {
		t.Fatalf("instance-id through a slow IMDS: %q after %s, want %s after at least %s", got, took, instB, 2*d)
	}
	if err := e.fab.SlowIMDS(instB, 0); err != nil {
		t.Fatal(err)
	}
	begin = time.Now()
	if got, err := imdsGet(ctx, e, instB, "/latest/meta-data/instance-id"); err != nil || got != instB {
		t.Fatalf("instance-id after the delay was lifted: %q, %v", got, err)
	}
	if took := time.Since(begin); took >= 2*d {
		t.Errorf("IMDS still slow after the delay was lifted: %s for two requests", took)
	}
}

func TestPartition(t *testing.T) {
	e := start(t)
	b := netip.MustParseAddr("10.0.2.10")
	ok := func() bool { s, err := e.reach(t.Context(), instA, b); return err == nil && s == instB }
	if !ok() {
		t.Fatal("A cannot reach B before the partition")
	}
	if err := e.fab.Partition(instA, instB, true); err != nil {
		t.Fatal(err)
	}
	if ok() {
		t.Fatal("A reaches B across a partition")
	}
	if s, err := e.reach(t.Context(), client, b); err != nil || s != instB {
		t.Fatalf("the client lost B too: %q, %v", s, err)
	}
	if err := e.fab.Partition(instB, instA, false); err != nil {
		t.Fatal(err)
	}
	if !ok() {
		t.Fatal("A cannot reach B after the partition healed")
	}

	// Within one subnet too: the VPC routes every packet.
	c := netip.MustParseAddr("10.0.1.20")
	okC := func() bool { s, err := e.reach(t.Context(), instA, c); return err == nil && s == instC }
	if !okC() {
		t.Fatal("A cannot reach C in its subnet")
	}
	if err := e.fab.Partition(instA, instC, true); err != nil {
		t.Fatal(err)
	}
	if okC() {
		t.Fatal("A reaches C across a partition")
	}
}

func TestNothingLeftInRootNamespace(t *testing.T) {
	needRoot(t)
	before, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, world))
	fab, err := netns.New(srv, netns.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ns, _ := netns.Namespaces(fab.Prefix()); len(ns) != 5 {
		t.Errorf("namespaces: %v, want a router and 4 instances", ns)
	}
	if err := fab.Close(); err != nil {
		t.Fatal(err)
	}
	after, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("links in the root namespace: %d before, %d after", len(before), len(after))
	}
	if ns, _ := netns.Namespaces(fab.Prefix()); len(ns) != 0 {
		t.Errorf("namespaces left: %v", ns)
	}
}
