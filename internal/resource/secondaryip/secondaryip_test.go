package secondaryip_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource/resourcetest"
	"github.com/vipd/vipd/internal/resource/secondaryip"
	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const world = `
vpcs: [{id: vpc-0a000000000000001, cidr: 10.0.0.0/16}]
subnets: [{id: subnet-0a000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.1.0/24, az: a}]
instances:
  - {id: i-0a000000000000001, name: a, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd, eni-id: eni-0a000000000000001}
  - {id: i-0b000000000000001, name: b, subnet: subnet-0a000000000000001, private-ip: 10.0.1.11, role: vipd, eni-id: eni-0b000000000000001}
network-interfaces:
  - {id: eni-0a000000000000002, subnet: subnet-0a000000000000001, private-ip: 10.0.1.20, instance: a, device-index: 1}
roles:
  - name: vipd
    statements:
      - {actions: ["ec2:DescribeNetworkInterfaces"]}
      - actions: [ec2:AssignPrivateIpAddresses, ec2:UnassignPrivateIpAddresses]
        resources: ["arn:aws:ec2:*:*:network-interface/*"]
`

// secondaries returns the secondary addresses of eni in the simulator.
func secondaries(t *testing.T, s *vpcsim.Server, eni string) []string {
	t.Helper()
	for _, e := range s.Snapshot().NetworkInterfaces {
		if e.ID == eni {
			return e.SecondaryIPs
		}
	}
	t.Fatalf("no interface %s", eni)
	return nil
}

func setup(t *testing.T) (*vpcsim.Server, resourcetest.Node, resourcetest.Node) {
	testenv.AWS(t)
	s := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, world))
	return s, resourcetest.NewNode(t, s, "i-0a000000000000001"), resourcetest.NewNode(t, s, "i-0b000000000000001")
}

func TestAcquireMovesAddressesAndReleaseUnassigns(t *testing.T) {
	s, a, b := setup(t)
	ctx := t.Context()
	cfg := config.SecondaryIP{Addresses: []string{"10.0.1.100", "10.0.1.101"}}
	ra := secondaryip.New(cfg, a.Clients.EC2, secondaryip.Options{}, resourcetest.Logger(t))
	rb := secondaryip.New(cfg, b.Clients.EC2, secondaryip.Options{}, resourcetest.Logger(t))

	if st, err := ra.Check(ctx, a.Self); err != nil || st.InSync {
		t.Fatalf("Check before acquire = %+v, %v; want drift", st, err)
	}
	if err := ra.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := secondaries(t, s, "eni-0a000000000000001"); !slices.Equal(got, []string{"10.0.1.100", "10.0.1.101"}) {
		t.Errorf("a's secondaries = %v", got)
	}
	if n := resourcetest.Calls(s, "AssignPrivateIpAddresses"); n != 1 {
		t.Errorf("AssignPrivateIpAddresses calls = %d, want 1 for both addresses", n)
	}
	// Idempotent: nothing to write the second time.
	if err := ra.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if n := resourcetest.Calls(s, "AssignPrivateIpAddresses"); n != 1 {
		t.Errorf("after a second Acquire, AssignPrivateIpAddresses calls = %d, want still 1", n)
	}

	// b takes over: AllowReassignment moves both.
	if err := rb.Acquire(ctx, b.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if got := secondaries(t, s, "eni-0b000000000000001"); !slices.Equal(got, []string{"10.0.1.100", "10.0.1.101"}) {
		t.Errorf("b's secondaries = %v", got)
	}
	st, err := ra.Check(ctx, a.Self)
	if err != nil || st.InSync || !strings.Contains(strings.Join(st.Drift, ";"), "on eni-0b000000000000001") {
		t.Errorf("a's Check after b took over = %+v, %v; want drift naming b's ENI", st, err)
	}
	// a's late release must not take them from b.
	if err := ra.Release(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := secondaries(t, s, "eni-0b000000000000001"); len(got) != 2 {
		t.Errorf("after a's release, b's secondaries = %v, want both kept", got)
	}
	if err := rb.Release(ctx, b.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if got := secondaries(t, s, "eni-0b000000000000001"); len(got) != 0 {
		t.Errorf("after b's release, b's secondaries = %v, want none", got)
	}
	for _, c := range s.Calls(0) {
		if c.Action == "AssignPrivateIpAddresses" || c.Action == "UnassignPrivateIpAddresses" {
			if c.Token == 0 {
				t.Errorf("%s #%d carried no fencing token", c.Action, c.Seq)
			}
		}
	}
}

func TestCheckFindsDriftAndAcquireRepairs(t *testing.T) {
	s, a, _ := setup(t)
	ctx := t.Context()
	r := secondaryip.New(config.SecondaryIP{Addresses: []string{"10.0.1.100", "10.0.1.101"}}, a.Clients.EC2, secondaryip.Options{}, resourcetest.Logger(t))
	if err := r.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	admin := ec2.NewFromConfig(vpcsimtest.AdminConfig(t, s))
	if _, err := admin.UnassignPrivateIpAddresses(ctx, &ec2.UnassignPrivateIpAddressesInput{
		NetworkInterfaceId: aws.String("eni-0a000000000000001"), PrivateIpAddresses: []string{"10.0.1.101"},
	}); err != nil {
		t.Fatal(err)
	}
	st, err := r.Check(ctx, a.Self)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.1.101: unassigned"}; !slices.Equal(st.Drift, want) || st.InSync {
		t.Errorf("Check = %+v, want drift %v", st, want)
	}
	if err := r.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if st, err := r.Check(ctx, a.Self); err != nil || !st.InSync {
		t.Errorf("Check after repair = %+v, %v", st, err)
	}
	// Only the missing address was sent.
	var last vpcsim.Call
	for _, c := range s.Calls(0) {
		if c.Action == "AssignPrivateIpAddresses" {
			last = c
		}
	}
	if last.Params["PrivateIpAddress.1"] != "10.0.1.101" || last.Params["PrivateIpAddress.2"] != "" || last.Params["AllowReassignment"] != "true" {
		t.Errorf("repair call params = %v", last.Params)
	}
}

func TestDeviceIndex(t *testing.T) {
	s, a, _ := setup(t)
	r := secondaryip.New(config.SecondaryIP{Addresses: []string{"10.0.1.100"}, DeviceIndex: 1}, a.Clients.EC2, secondaryip.Options{}, resourcetest.Logger(t))
	if err := r.Acquire(t.Context(), a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := secondaries(t, s, "eni-0a000000000000002"); !slices.Equal(got, []string{"10.0.1.100"}) {
		t.Errorf("device 1's secondaries = %v", got)
	}
	if st, err := r.Check(t.Context(), a.Self); err != nil || !st.InSync {
		t.Errorf("Check = %+v, %v", st, err)
	}
}

func TestKeepOnRelease(t *testing.T) {
	s, a, _ := setup(t)
	r := secondaryip.New(config.SecondaryIP{Addresses: []string{"10.0.1.100"}, KeepOnRelease: true}, a.Clients.EC2, secondaryip.Options{}, resourcetest.Logger(t))
	if err := r.Acquire(t.Context(), a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(t.Context(), a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := secondaries(t, s, "eni-0a000000000000001"); len(got) != 1 {
		t.Errorf("secondaries after release with keep-on-release = %v", got)
	}
}

func TestAcquireFailures(t *testing.T) {
	t.Run("an AWS error is returned with its code", func(t *testing.T) {
		s, a, _ := setup(t)
		if _, err := s.InjectFault(vpcsim.Fault{Action: "AssignPrivateIpAddresses", Kind: vpcsim.FaultError, Code: "UnauthorizedOperation", Status: 403}); err != nil {
			t.Fatal(err)
		}
		r := secondaryip.New(config.SecondaryIP{Addresses: []string{"10.0.1.100"}}, a.Clients.EC2, secondaryip.Options{}, resourcetest.Logger(t))
		err := r.Acquire(t.Context(), a.Self, resourcetest.Token(1))
		if !awsapi.IsCode(err, awsapi.CodeUnauthorizedOperation) {
			t.Errorf("Acquire = %v, want UnauthorizedOperation", err)
		}
	})
	t.Run("a stale token writes nothing", func(t *testing.T) {
		s, a, _ := setup(t)
		r := secondaryip.New(config.SecondaryIP{Addresses: []string{"10.0.1.100"}}, a.Clients.EC2, secondaryip.Options{}, resourcetest.Logger(t))
		stale := fence.New(3, func(uint64) (time.Time, bool) { return time.Time{}, false })
		if err := r.Acquire(t.Context(), a.Self, stale); err == nil {
			t.Fatal("Acquire with a lost grant succeeded")
		}
		if n := resourcetest.Calls(s, "AssignPrivateIpAddresses"); n != 0 {
			t.Errorf("AssignPrivateIpAddresses calls = %d, want 0", n)
		}
	})
}

// bindings records host bindings, standing in for osnet.
type bindings struct{ bound map[netip.Prefix]bool }

type fakeBinder struct {
	b *bindings
	p netip.Prefix
}

func (f fakeBinder) Bind(context.Context) error          { f.b.bound[f.p] = true; return nil }
func (f fakeBinder) Unbind(context.Context) error        { delete(f.b.bound, f.p); return nil }
func (f fakeBinder) Bound(context.Context) (bool, error) { return f.b.bound[f.p], nil }

func TestBindsAddressesBeyondLocalAddress(t *testing.T) {
	_, a, _ := setup(t)
	b := &bindings{bound: map[netip.Prefix]bool{}}
	r := secondaryip.New(config.SecondaryIP{Addresses: []string{"10.0.1.100", "10.0.1.101"}}, a.Clients.EC2, secondaryip.Options{
		Bind: func(_ netip.Addr, p netip.Prefix) secondaryip.Binder { return fakeBinder{b, p} },
		Skip: []netip.Addr{netip.MustParseAddr("10.0.1.100")},
	}, resourcetest.Logger(t))
	if err := r.Acquire(t.Context(), a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if len(b.bound) != 1 || !b.bound[netip.MustParsePrefix("10.0.1.101/32")] {
		t.Errorf("bound = %v, want only 10.0.1.101/32 (10.0.1.100 is local-address's)", b.bound)
	}
	delete(b.bound, netip.MustParsePrefix("10.0.1.101/32"))
	if st, err := r.Check(t.Context(), a.Self); err != nil || st.InSync {
		t.Errorf("Check with the binding gone = %+v, %v; want drift", st, err)
	}
	if err := r.Release(t.Context(), a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
}

const world6 = `
vpcs: [{id: vpc-0a000000000000001, cidr: 10.0.0.0/16, ipv6-cidr: "2001:db8:1::/56"}]
subnets: [{id: subnet-0a000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.1.0/24, az: a, ipv6-cidr: "2001:db8:1:1::/64"}]
instances:
  - {id: i-0a000000000000001, name: a, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd, eni-id: eni-0a000000000000001, ipv6-addresses: ["2001:db8:1:1::10"]}
  - {id: i-0b000000000000001, name: b, subnet: subnet-0a000000000000001, private-ip: 10.0.1.11, role: vipd, eni-id: eni-0b000000000000001, ipv6-addresses: ["2001:db8:1:1::11"]}
roles:
  - name: vipd
    statements:
      - {actions: ["ec2:DescribeNetworkInterfaces"]}
      - actions: [ec2:AssignPrivateIpAddresses, ec2:UnassignPrivateIpAddresses, ec2:AssignIpv6Addresses, ec2:UnassignIpv6Addresses]
        resources: ["arn:aws:ec2:*:*:network-interface/*"]
`

// TestIPv6AddressMoves: an IPv6 address of the subnet, next to an IPv4
// one, is assigned to the owner's interface; the next owner takes it with
// UnassignIpv6Addresses on the holder and AssignIpv6Addresses on its own
// (EC2 does not reassign IPv6 addresses); release unassigns it.
func TestIPv6AddressMoves(t *testing.T) {
	testenv.AWS(t)
	s := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, world6))
	a, b := resourcetest.NewNode(t, s, "i-0a000000000000001"), resourcetest.NewNode(t, s, "i-0b000000000000001")
	ctx := t.Context()
	// The identity read from IMDS has the interface's IPv6 side.
	if a.Self.IPv6 != netip.MustParseAddr("2001:db8:1:1::10") || a.Self.SubnetIPv6CIDR != netip.MustParsePrefix("2001:db8:1:1::/64") {
		t.Errorf("identity of a: IPv6 %s in %s, want 2001:db8:1:1::10 in 2001:db8:1:1::/64", a.Self.IPv6, a.Self.SubnetIPv6CIDR)
	}
	cfg := config.SecondaryIP{Addresses: []string{"10.0.1.100", "2001:db8:1:1::100"}}
	ra := secondaryip.New(cfg, a.Clients.EC2, secondaryip.Options{}, resourcetest.Logger(t))
	rb := secondaryip.New(cfg, b.Clients.EC2, secondaryip.Options{}, resourcetest.Logger(t))
	v6 := func(eni string) []string {
		for _, e := range s.Snapshot().NetworkInterfaces {
			if e.ID == eni {
				return e.IPv6Addresses
			}
		}
		return nil
	}
	if err := ra.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := v6("eni-0a000000000000001"); !slices.Equal(got, []string{"2001:db8:1:1::10", "2001:db8:1:1::100"}) {
		t.Fatalf("a's IPv6 addresses = %v", got)
	}
	if st, err := rb.Check(ctx, b.Self); err != nil || st.InSync || !st.Contested {
		t.Fatalf("b's check while a holds both = %+v, %v; want contested drift", st, err)
	}
	if err := rb.Acquire(ctx, b.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if got := v6("eni-0a000000000000001"); !slices.Equal(got, []string{"2001:db8:1:1::10"}) {
		t.Errorf("a's IPv6 addresses after b took over = %v", got)
	}
	if got := v6("eni-0b000000000000001"); !slices.Equal(got, []string{"2001:db8:1:1::11", "2001:db8:1:1::100"}) {
		t.Errorf("b's IPv6 addresses = %v", got)
	}
	if st, err := rb.Check(ctx, b.Self); err != nil || !st.InSync {
		t.Fatalf("b's check after acquire = %+v, %v", st, err)
	}
	if err := rb.Release(ctx, b.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if got := v6("eni-0b000000000000001"); !slices.Equal(got, []string{"2001:db8:1:1::11"}) {
		t.Errorf("b's IPv6 addresses after release = %v", got)
	}
}
