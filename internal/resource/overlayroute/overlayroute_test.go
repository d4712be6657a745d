package overlayroute

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const world = `
region: us-east-1
vpcs: [{id: vpc-0a0000000000000a1, cidr: 10.0.0.0/16}]
subnets:
  - {id: subnet-0a00000000000001a, vpc: vpc-0a0000000000000a1, cidr: 10.0.1.0/24, az: us-east-1a}
  - {id: subnet-0b00000000000002b, vpc: vpc-0a0000000000000a1, cidr: 10.0.2.0/24, az: us-east-1b}
route-tables:
  - {id: rtb-0000000000000000a, vpc: vpc-0a0000000000000a1, main: true}
  - {id: rtb-0000000000000000b, vpc: vpc-0a0000000000000a1, subnets: [subnet-0b00000000000002b]}
roles:
  - name: node
    actions: [ec2:DescribeRouteTables, ec2:CreateRoute, ec2:ReplaceRoute, ec2:DeleteRoute, ec2:ModifyInstanceAttribute]
instances:
  - {id: i-0a000000000000001, subnet: subnet-0a00000000000001a, private-ip: 10.0.1.10, role: node}
  - {id: i-0b000000000000002, subnet: subnet-0b00000000000002b, private-ip: 10.0.2.10, role: node}
`

var vip = netip.MustParsePrefix("192.168.100.10/32")

type env struct {
	srv  *vpcsim.Server
	a, b resource.Self
}

func setup(t *testing.T) *env {
	t.Helper()
	return setupWith(t, vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, world)))
}

// setupWith is setup on a server of the test's own (throttling, timing).
func setupWith(t *testing.T, srv *vpcsim.Server) *env {
	t.Helper()
	e := &env{srv: srv}
	for _, p := range []struct {
		self *resource.Self
		name string
		id   string
	}{{&e.a, "a", "i-0a000000000000001"}, {&e.b, "b", "i-0b000000000000002"}} {
		id, err := awsapi.ReadIdentity(t.Context(), awsapi.NewIMDS(srv.IMDSURL(p.id)))
		if err != nil {
			t.Fatalf("read identity of %s: %v", p.id, err)
		}
		*p.self = resource.Self{Name: p.name, Identity: id}
	}
	return e
}

// client returns the EC2 client an instance's vipd would use: built by
// awsapi.Load (with the fencing-token middleware), signing with the
// instance's role credentials from its simulated IMDS.
func (e *env) client(t *testing.T, id string) *ec2.Client {
	t.Helper()
	imdsURL := e.srv.IMDSURL(id)
	creds := aws.NewCredentialsCache(ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = awsapi.NewIMDS(imdsURL) }))
	c, err := awsapi.Load(t.Context(), awsapi.Options{Region: e.srv.Region(), Endpoint: e.srv.URL(), IMDSEndpoint: imdsURL, Credentials: creds,
		WrapHTTPClient: vpcsimtest.BodyRaceFix})
	if err != nil {
		t.Fatal(err)
	}
	return c.EC2
}

// valid is a grant that stays valid for a minute.
func valid(n uint64) fence.Token {
	return fence.New(n, func(tok uint64) (time.Time, bool) { return time.Now().Add(time.Minute), tok == n })
}

// targets reads, as admin, where each table sends the VIP.
func (e *env) targets(t *testing.T) map[string]string {
	t.Helper()
	c := ec2.NewFromConfig(vpcsimtest.AdminConfig(t, e.srv))
	out, err := c.DescribeRouteTables(t.Context(), &ec2.DescribeRouteTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rt := range out.RouteTables {
		got[aws.ToString(rt.RouteTableId)] = ""
		for _, r := range rt.Routes {
			if aws.ToString(r.DestinationCidrBlock) == vip.String() {
				got[aws.ToString(rt.RouteTableId)] = aws.ToString(r.NetworkInterfaceId)
			}
		}
	}
	return got
}

// writes returns the mutating calls vpcsim served after seq, and their tokens.
func (e *env) writes(seq uint64) ([]string, []uint64, uint64) {
	var acts []string
	var toks []uint64
	calls := e.srv.Calls(seq)
	for _, c := range calls {
		if !strings.HasPrefix(c.Action, "Describe") {
			acts = append(acts, c.Action)
			toks = append(toks, c.Token)
		}
	}
	if len(calls) > 0 {
		seq = calls[len(calls)-1].Seq
	}
	return acts, toks, seq
}

func newRes(t *testing.T, e *env, id string, cfg config.OverlayRoute) *Resource {
	return New(cfg, e.client(t, id), Options{}, slog.New(slog.DiscardHandler))
}

func TestAcquireRoutesEveryTableAndIsIdempotent(t *testing.T) {
	e := setup(t)
	cfg := config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{All: true}, DisableSourceDestCheck: true}
	r := newRes(t, e, e.a.InstanceID, cfg)
	if err := r.Acquire(t.Context(), e.a, valid(5)); err != nil {
		t.Fatal(err)
	}
	for table, eni := range e.targets(t) {
		if eni != e.a.ENIID {
			t.Errorf("%s: VIP via %q, want %s", table, eni, e.a.ENIID)
		}
	}
	acts, toks, seq := e.writes(0)
	slices.Sort(acts)
	if want := []string{"CreateRoute", "CreateRoute", "ModifyInstanceAttribute"}; !slices.Equal(acts, want) {
		t.Errorf("writes: got %v, want %v", acts, want)
	}
	for _, tok := range toks {
		if tok != 5 {
			t.Errorf("a write carried token %d, want 5 (tokens: %v)", tok, toks)
		}
	}
	// Again: nothing to write.
	if err := r.Acquire(t.Context(), e.a, valid(5)); err != nil {
		t.Fatal(err)
	}
	if acts, _, _ := e.writes(seq); len(acts) != 0 {
		t.Errorf("second acquire wrote %v, want nothing", acts)
	}
	st, err := r.Check(t.Context(), e.a)
	if err != nil || !st.InSync {
		t.Errorf("check after acquire: %+v, %v; want in sync", st, err)
	}
}

func TestAcquireReplacesRoutesOfThePreviousOwner(t *testing.T) {
	e := setup(t)
	cfg := config.OverlayRoute{CIDRs: []netip.Prefix{vip, netip.MustParsePrefix("192.168.100.0/28")}, RouteTables: config.RouteTables{All: true}}
	if err := newRes(t, e, e.a.InstanceID, cfg).Acquire(t.Context(), e.a, valid(1)); err != nil {
		t.Fatal(err)
	}
	_, _, seq := e.writes(0)
	rb := newRes(t, e, e.b.InstanceID, cfg)
	st, err := rb.Check(t.Context(), e.b)
	if err != nil || st.InSync || len(st.Drift) != 4 {
		t.Fatalf("check on b before acquire: %+v, %v; want 4 drifted routes", st, err)
	}
	if err := rb.Acquire(t.Context(), e.b, valid(2)); err != nil {
		t.Fatal(err)
	}
	acts, toks, _ := e.writes(seq)
	if len(acts) != 4 || slices.ContainsFunc(acts, func(a string) bool { return a != "ReplaceRoute" }) {
		t.Errorf("writes: got %v, want 4 ReplaceRoute (2 tables × 2 CIDRs)", acts)
	}
	if slices.ContainsFunc(toks, func(t uint64) bool { return t != 2 }) {
		t.Errorf("tokens: %v, want all 2", toks)
	}
	for table, eni := range e.targets(t) {
		if eni != e.b.ENIID {
			t.Errorf("%s: VIP via %q, want %s", table, eni, e.b.ENIID)
		}
	}
}

func TestStaleTokenWritesNothing(t *testing.T) {
	e := setup(t)
	r := newRes(t, e, e.a.InstanceID, config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{All: true}})
	lost := fence.New(7, func(uint64) (time.Time, bool) { return time.Time{}, false })
	err := r.Acquire(t.Context(), e.a, lost)
	if !errors.Is(err, fence.ErrStale) {
		t.Fatalf("acquire with a lost grant: %v, want ErrStale", err)
	}
	// A grant about to end is as good as lost.
	ending := fence.New(8, func(uint64) (time.Time, bool) { return time.Now().Add(time.Millisecond), true })
	if err := r.Acquire(t.Context(), e.a, ending); !errors.Is(err, fence.ErrStale) {
		t.Fatalf("acquire with a grant ending now: %v, want ErrStale", err)
	}
	if acts, _, _ := e.writes(0); len(acts) != 0 {
		t.Errorf("stale grants wrote %v", acts)
	}
}

func TestListedTablesAndMissingTable(t *testing.T) {
	e := setup(t)
	r := newRes(t, e, e.a.InstanceID, config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{IDs: []string{"rtb-0000000000000000b"}}})
	if err := r.Acquire(t.Context(), e.a, valid(1)); err != nil {
		t.Fatal(err)
	}
	got := e.targets(t)
	if got["rtb-0000000000000000b"] != e.a.ENIID || got["rtb-0000000000000000a"] != "" {
		t.Errorf("targets: %v, want only rtb-…b via %s", got, e.a.ENIID)
	}
	missing := newRes(t, e, e.a.InstanceID, config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{IDs: []string{"rtb-0000000000000000f"}}})
	err := missing.Acquire(t.Context(), e.a, valid(1))
	if !awsapi.IsCode(err, awsapi.CodeRouteTableNotFound) {
		t.Fatalf("acquire with a missing table: %v, want %s", err, awsapi.CodeRouteTableNotFound)
	}
}

func TestReleaseDeletesOnlyOwnRoutesWhenAsked(t *testing.T) {
	e := setup(t)
	keep := config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{All: true}}
	if err := newRes(t, e, e.a.InstanceID, keep).Acquire(t.Context(), e.a, valid(1)); err != nil {
		t.Fatal(err)
	}
	// Default: release leaves the routes for the next owner.
	if err := newRes(t, e, e.a.InstanceID, keep).Release(t.Context(), e.a, valid(1)); err != nil {
		t.Fatal(err)
	}
	if got := e.targets(t); got["rtb-0000000000000000a"] != e.a.ENIID {
		t.Fatalf("default release removed routes: %v", got)
	}
	del := keep
	del.DeleteOnRelease = true
	// b does not own the routes: its release must not delete a's.
	if err := newRes(t, e, e.b.InstanceID, del).Release(t.Context(), e.b, valid(2)); err != nil {
		t.Fatal(err)
	}
	if got := e.targets(t); got["rtb-0000000000000000a"] != e.a.ENIID {
		t.Fatalf("a non-owner's release removed routes: %v", got)
	}
	if err := newRes(t, e, e.a.InstanceID, del).Release(t.Context(), e.a, valid(3)); err != nil {
		t.Fatal(err)
	}
	for table, eni := range e.targets(t) {
		if eni != "" {
			t.Errorf("%s: VIP still via %s after delete-on-release", table, eni)
		}
	}
}

func TestCheckIsOneDescribeForManyCIDRs(t *testing.T) {
	e := setup(t)
	var ps []netip.Prefix
	for i := range 20 {
		ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, 100, byte(10 + i)}), 32))
	}
	r := newRes(t, e, e.a.InstanceID, config.OverlayRoute{CIDRs: ps, RouteTables: config.RouteTables{All: true}})
	if err := r.Acquire(t.Context(), e.a, valid(1)); err != nil {
		t.Fatal(err)
	}
	_, _, seq := e.writes(0)
	if _, err := r.Check(t.Context(), e.a); err != nil {
		t.Fatal(err)
	}
	if calls := e.srv.Calls(seq); len(calls) != 1 || calls[0].Action != "DescribeRouteTables" {
		t.Errorf("check made %d calls, want one DescribeRouteTables", len(calls))
	}
}

func TestUnauthorizedWriteKeepsAWSCode(t *testing.T) {
	srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, strings.Replace(world, "ec2:ReplaceRoute, ", "", 1)))
	e := &env{srv: srv}
	id, err := awsapi.ReadIdentity(t.Context(), awsapi.NewIMDS(srv.IMDSURL("i-0a000000000000001")))
	if err != nil {
		t.Fatal(err)
	}
	e.a = resource.Self{Name: "a", Identity: id}
	// Someone else's route exists, so a must replace it.
	admin := ec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv))
	if _, err := admin.CreateRoute(t.Context(), &ec2.CreateRouteInput{RouteTableId: aws.String("rtb-0000000000000000a"),
		DestinationCidrBlock: aws.String(vip.String()), InstanceId: aws.String("i-0b000000000000002")}); err != nil {
		t.Fatal(err)
	}
	r := New(config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{IDs: []string{"rtb-0000000000000000a"}}},
		e.client(t, id.InstanceID), Options{}, slog.New(slog.DiscardHandler))
	err = r.Acquire(t.Context(), e.a, valid(1))
	if !awsapi.IsCode(err, awsapi.CodeUnauthorizedOperation) || !strings.Contains(err.Error(), "replace route 192.168.100.10/32 in rtb-0000000000000000a") {
		t.Fatalf("acquire without ec2:ReplaceRoute: %v, want UnauthorizedOperation naming the write", err)
	}
}

func TestPrepareTakesSourceDestCheckOffTheFailoverPath(t *testing.T) {
	e := setup(t)
	r := newRes(t, e, e.a.InstanceID, config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{All: true}, DisableSourceDestCheck: true})
	if err := r.Prepare(t.Context(), e.a); err != nil {
		t.Fatal(err)
	}
	acts, toks, seq := e.writes(0)
	if !slices.Equal(acts, []string{"ModifyInstanceAttribute"}) || toks[0] != 0 {
		t.Fatalf("prepare wrote %v with tokens %v, want one unfenced ModifyInstanceAttribute", acts, toks)
	}
	if err := r.Acquire(t.Context(), e.a, valid(4)); err != nil {
		t.Fatal(err)
	}
	if acts, _, _ := e.writes(seq); !slices.Equal(acts, []string{"CreateRoute", "CreateRoute"}) {
		t.Errorf("acquire after prepare wrote %v, want only the two routes", acts)
	}
}

// TestAcquireWritesOneRouteFirst: the first route write completes before
// any other starts, then the rest go in parallel. When an Availability
// Zone fails and every cluster of the account writes at once, EC2's burst
// (50 mutating calls) then goes one route to each cluster rather than all
// routes to the first few (issue 17, bench/RESULTS.md "The storm").
func TestAcquireWritesOneRouteFirst(t *testing.T) {
	srv := vpcsimtest.NewServerOptions(t, vpcsimtest.ParseWorld(t, world), vpcsim.Options{Timing: vpcsim.Timing{Mutate: vpcsim.Dist{Median: 100 * time.Millisecond}}})
	e := &env{srv: srv}
	id, err := awsapi.ReadIdentity(t.Context(), awsapi.NewIMDS(srv.IMDSURL("i-0a000000000000001")))
	if err != nil {
		t.Fatal(err)
	}
	e.a = resource.Self{Name: "a", Identity: id}
	cfg := config.OverlayRoute{CIDRs: []netip.Prefix{vip, netip.MustParsePrefix("192.168.100.20/32")}, RouteTables: config.RouteTables{All: true}}
	r := newRes(t, e, e.a.InstanceID, cfg)
	if err := r.Acquire(t.Context(), e.a, valid(1)); err != nil {
		t.Fatal(err)
	}
	var writes []vpcsim.Call
	for _, c := range srv.Calls(0) {
		if c.Action == "CreateRoute" || c.Action == "ReplaceRoute" {
			writes = append(writes, c)
		}
	}
	if len(writes) != 4 {
		t.Fatalf("%d route writes, want 4 (2 tables × 2 prefixes)", len(writes))
	}
	// Each write takes 100 ms; written in parallel all four would arrive
	// within a few milliseconds. Arrival is Applied less Latency; allow
	// half a write's time for the recording's own skew.
	slices.SortFunc(writes, func(x, y vpcsim.Call) int { return x.Time.Compare(y.Time) })
	first := writes[0]
	for _, w := range writes[1:] {
		if start := w.Applied.Add(-time.Duration(w.Latency)); start.Before(first.Applied.Add(-50 * time.Millisecond)) {
			t.Errorf("write %s %s started at %s, before the first write ended at %s",
				w.Params["RouteTableId"], w.Params["DestinationCidrBlock"], start.Format("15:04:05.000"), first.Applied.Format("15:04:05.000"))
		}
	}
}

// TestStepTimeoutCoversThrottledWrites: an acquire's budget is a minute of
// queueing behind the account's other writers plus its own routes at EC2's
// refill rate of 5 a second, since a throttled write waits its turn.
func TestStepTimeoutCoversThrottledWrites(t *testing.T) {
	var tables []string
	for i := range 20 {
		tables = append(tables, fmt.Sprintf("rtb-%017x", i+1))
	}
	var cidrs []netip.Prefix
	for i := range 25 {
		cidrs = append(cidrs, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16, byte(i), 10}), 32))
	}
	r := New(config.OverlayRoute{CIDRs: cidrs, RouteTables: config.RouteTables{IDs: tables}}, nil, Options{}, slog.New(slog.DiscardHandler))
	if got, want := r.StepTimeout(), time.Minute+100*time.Second; got != want {
		t.Errorf("StepTimeout with 500 routes = %s, want %s", got, want)
	}
	one := New(config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{All: true}}, nil, Options{}, slog.New(slog.DiscardHandler))
	if got, want := one.StepTimeout(), time.Minute+200*time.Millisecond; got != want {
		t.Errorf("StepTimeout of one route, tables not yet read = %s, want %s", got, want)
	}
}

// TestIPv6Overlay: an IPv6 overlay prefix is routed with
// DestinationIpv6CidrBlock (EC2's CreateRoute and ReplaceRoute take an
// IPv6 destination only in that parameter), moves to the next owner with
// ReplaceRoute, and is deleted on release when asked, next to an IPv4
// one in the same resource.
func TestIPv6Overlay(t *testing.T) {
	e := setup(t)
	vip6 := netip.MustParsePrefix("fd00:ec2::10/128")
	cfg := config.OverlayRoute{CIDRs: []netip.Prefix{vip, vip6}, RouteTables: config.RouteTables{All: true}, DeleteOnRelease: true}
	via := func() map[string]string {
		c := ec2.NewFromConfig(vpcsimtest.AdminConfig(t, e.srv))
		out, err := c.DescribeRouteTables(t.Context(), &ec2.DescribeRouteTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, rt := range out.RouteTables {
			for _, r := range rt.Routes {
				if aws.ToString(r.DestinationIpv6CidrBlock) == vip6.String() {
					got[aws.ToString(rt.RouteTableId)] = aws.ToString(r.NetworkInterfaceId)
				}
			}
		}
		return got
	}
	if err := newRes(t, e, e.a.InstanceID, cfg).Acquire(t.Context(), e.a, valid(1)); err != nil {
		t.Fatal(err)
	}
	if got := via(); len(got) != 2 || got["rtb-0000000000000000a"] != e.a.ENIID || got["rtb-0000000000000000b"] != e.a.ENIID {
		t.Fatalf("after a acquired: %s via %v, want %s in both tables", vip6, got, e.a.ENIID)
	}
	_, _, seq := e.writes(0)
	rb := newRes(t, e, e.b.InstanceID, cfg)
	if err := rb.Acquire(t.Context(), e.b, valid(2)); err != nil {
		t.Fatal(err)
	}
	for _, w := range e.srv.Calls(seq) {
		if w.Action == "ReplaceRoute" && w.Params["DestinationIpv6CidrBlock"] == "" && w.Params["DestinationCidrBlock"] == "" {
			t.Errorf("ReplaceRoute without a destination: %v", w.Params)
		}
	}
	if got := via(); got["rtb-0000000000000000a"] != e.b.ENIID || got["rtb-0000000000000000b"] != e.b.ENIID {
		t.Fatalf("after b acquired: %s via %v, want %s", vip6, got, e.b.ENIID)
	}
	if st, err := rb.Check(t.Context(), e.b); err != nil || !st.InSync {
		t.Fatalf("check on b: %+v, %v", st, err)
	}
	if err := rb.Release(t.Context(), e.b, valid(2)); err != nil {
		t.Fatal(err)
	}
	if got := via(); len(got) != 0 {
		t.Fatalf("after release: %s still routed %v", vip6, got)
	}
}

// TestTagSelectedTables: with route-tables {tags: [...]} the tables are
// found again on every read, by the one DescribeRouteTables that reads
// the routes: a table tagged after start is covered by the next repair,
// one that loses its tag is no longer read or written (its route stays
// as it was), and no tagged table at all is an error naming the tags.
func TestTagSelectedTables(t *testing.T) {
	e := setup(t)
	ctx := t.Context()
	admin := ec2.NewFromConfig(vpcsimtest.AdminConfig(t, e.srv))
	tag := func(id string) {
		t.Helper()
		if _, err := admin.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("vipd"), Value: aws.String("db")}}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.OverlayRoute{CIDR: vip, RouteTables: config.RouteTables{Tags: []config.Tag{{Key: "vipd", Value: "db"}, {Key: "tier"}}}}
	r := newRes(t, e, e.a.InstanceID, cfg)
	err := r.Acquire(ctx, e.a, valid(1))
	if err == nil || !strings.Contains(err.Error(), "no route table of "+e.a.VPCID+" has the tags vipd=db,tier") {
		t.Fatalf("acquire with no tagged table: %v, want an error naming the tags", err)
	}
	tag("rtb-0000000000000000b")
	if _, err := admin.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"rtb-0000000000000000b"}, Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	tag("rtb-0000000000000000a") // without tier: not selected
	if err := r.Acquire(ctx, e.a, valid(1)); err != nil {
		t.Fatal(err)
	}
	if got := e.targets(t); got["rtb-0000000000000000b"] != e.a.ENIID || got["rtb-0000000000000000a"] != "" {
		t.Fatalf("targets %v, want only rtb-…b via %s", got, e.a.ENIID)
	}
	// A table created and tagged later: the next check sees it missing,
	// and the repair (an acquire) routes it, with one Describe per read.
	nt, err := admin.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(e.a.VPCID), TagSpecifications: []types.TagSpecification{{
		ResourceType: types.ResourceTypeRouteTable, Tags: []types.Tag{{Key: aws.String("vipd"), Value: aws.String("db")}, {Key: aws.String("tier"), Value: aws.String("y")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	added := aws.ToString(nt.RouteTable.RouteTableId)
	_, _, seq := e.writes(0)
	st, err := r.Check(ctx, e.a)
	if err != nil {
		t.Fatal(err)
	}
	if calls := e.srv.Calls(seq); len(calls) != 1 || calls[0].Action != "DescribeRouteTables" {
		t.Errorf("check made %d calls, want one DescribeRouteTables", len(calls))
	}
	if st.InSync || len(st.Drift) != 1 || !strings.Contains(st.Drift[0], added+" "+vip.String()+": missing") {
		t.Fatalf("check after a tagged table was added: %+v, want %s missing", st, added)
	}
	if err := r.Acquire(ctx, e.a, valid(2)); err != nil {
		t.Fatal(err)
	}
	if got := e.targets(t); got[added] != e.a.ENIID {
		t.Fatalf("targets %v, want %s via %s", got, added, e.a.ENIID)
	}
	// rtb-…b loses its tag: b's acquire leaves its route alone.
	if _, err := admin.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{"rtb-0000000000000000b"}, Tags: []types.Tag{{Key: aws.String("tier")}}}); err != nil {
		t.Fatal(err)
	}
	if err := newRes(t, e, e.b.InstanceID, cfg).Acquire(ctx, e.b, valid(3)); err != nil {
		t.Fatal(err)
	}
	if got := e.targets(t); got[added] != e.b.ENIID || got["rtb-0000000000000000b"] != e.a.ENIID {
		t.Errorf("targets %v, want %s via %s and the untagged rtb-…b left via %s", got, added, e.b.ENIID, e.a.ENIID)
	}
}
