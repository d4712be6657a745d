package vpcsim_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/config"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/simclient"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestFaults(t *testing.T) {
	e := newEnv(t)
	ctl := simclient.New(e.srv.URL(), nil)
	ctx := t.Context()
	describe := func(c *awsec2.Client) error {
		_, err := c.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{})
		return err
	}

	t.Run("error with count", func(t *testing.T) {
		if _, err := ctl.InjectFault(ctx, vpcsim.Fault{Action: "DescribeRouteTables", Kind: vpcsim.FaultError, Code: "RequestLimitExceeded", Count: 2}); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			err := describe(e.ec2)
			if got := code(t, err); got != "RequestLimitExceeded" || httpStatus(err) != http.StatusServiceUnavailable {
				t.Fatalf("call %d: %v, want RequestLimitExceeded 503", i, err)
			}
		}
		if err := describe(e.ec2); err != nil {
			t.Fatalf("third call: %v, want success once the count is used up", err)
		}
	})

	t.Run("error by caller only", func(t *testing.T) {
		if _, err := ctl.InjectFault(ctx, vpcsim.Fault{Caller: nodeA, Kind: vpcsim.FaultError, Code: "InternalError"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ctl.ClearFaults(context.WithoutCancel(ctx), 0) })
		err := describe(instanceClient(t, e.srv, nodeA))
		if got := code(t, err); got != "InternalError" || httpStatus(err) != http.StatusInternalServerError {
			t.Fatalf("node-a: %v, want InternalError 500", err)
		}
		if err := describe(instanceClient(t, e.srv, nodeB)); err != nil {
			t.Fatalf("node-b: %v, want success", err)
		}
	})

	t.Run("latency", func(t *testing.T) {
		id, err := ctl.InjectFault(ctx, vpcsim.Fault{Action: "DescribeVpcs", Kind: vpcsim.FaultLatency, Latency: vpcsim.Duration(150 * time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ctl.ClearFaults(context.WithoutCancel(ctx), id) })
		start := time.Now()
		if _, err := e.ec2.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("call took %s, want at least the injected 150ms", d)
		}
	})

	t.Run("hang until cleared", func(t *testing.T) {
		id, err := ctl.InjectFault(ctx, vpcsim.Fault{Action: "ReplaceRoute", Kind: vpcsim.FaultHang})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)})
			done <- err
		}()
		// The call is held: it has not completed while the fault stands.
		waitFor(t, "the call to be held", func() bool { fs := e.srv.Faults(); return len(fs) == 1 && fs[0].Held == 1 })
		select {
		case err := <-done:
			t.Fatalf("hung call returned early: %v", err)
		default:
		}
		if err := ctl.ClearFaults(ctx, id); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if got := code(t, err); got != "Unavailable" {
				t.Errorf("released call: %v, want Unavailable", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("call still held after the fault was cleared")
		}
		if r := routeTo(t, e.ec2, rtbB, vip); aws.ToString(r.NetworkInterfaceId) != eniB {
			t.Error("a held call changed the route")
		}
	})

	t.Run("hang honours the client deadline", func(t *testing.T) {
		id, err := ctl.InjectFault(ctx, vpcsim.Fault{Action: "DescribeSubnets", Kind: vpcsim.FaultHang})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ctl.ClearFaults(context.WithoutCancel(ctx), id) })
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err = e.ec2.DescribeSubnets(cctx, &awsec2.DescribeSubnetsInput{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the client's deadline", err)
		}
	})

	t.Run("cutoff drops the connection", func(t *testing.T) {
		id, err := ctl.InjectFault(ctx, vpcsim.Fault{Caller: nodeB, Kind: vpcsim.FaultCutoff})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ctl.ClearFaults(context.WithoutCancel(ctx), id) })
		err = describe(instanceClient(t, e.srv, nodeB))
		if err == nil {
			t.Fatal("cut-off caller got an answer")
		}
		var ae interface{ ErrorCode() string }
		if errors.As(err, &ae) {
			t.Errorf("cut-off caller got an API error %v, want a transport error", err)
		}
	})

	t.Run("bad fault is refused", func(t *testing.T) {
		if _, err := ctl.InjectFault(ctx, vpcsim.Fault{Kind: "explode"}); err == nil || !strings.Contains(err.Error(), "explode") {
			t.Errorf("err = %v, want a refusal naming the kind", err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHistoryRecordsCallerAndToken(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	// vipd appends vipd-token/<N> to its User-Agent (internal/awsapi).
	c := awsec2.NewFromConfig(vpcsimtest.InstanceConfig(t, e.srv, nodeA, config.WithRetryMaxAttempts(1)),
		awsec2.WithAPIOptions(middleware.AddUserAgentKeyValue("vipd-token", "42")))
	if _, err := c.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.ec2.DeleteRoute(ctx, &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String("10.9.9.9/32")})
	if code(t, err) != "InvalidRoute.NotFound" {
		t.Fatalf("delete: %v", err)
	}
	calls, err := simclient.New(e.srv.URL(), nil).Calls(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		Seq                  uint64
		Caller, Action, Code string
		Status               int
		Token                uint64
		Dst                  string
	}
	var got []rec
	for _, c := range calls {
		got = append(got, rec{c.Seq, c.Caller, c.Action, c.Code, c.Status, c.Token, c.Params["DestinationCidrBlock"]})
	}
	want := []rec{
		{1, nodeA, "CreateRoute", "", 200, 42, vip},
		{2, "admin", "DeleteRoute", "InvalidRoute.NotFound", 400, 0, "10.9.9.9/32"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	later, err := simclient.New(e.srv.URL(), nil).Calls(ctx, 1)
	if err != nil || len(later) != 1 || later[0].Seq != 2 {
		t.Errorf("calls since 1 = %+v, %v; want only seq 2", later, err)
	}
}

func TestControlEndpoint(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ctl := simclient.New(e.srv.URL(), nil)

	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(nodeA)}); err != nil {
		t.Fatal(err)
	}
	st, err := ctl.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := findRoute(st, rtbA, vip); got == nil || got.InstanceID != nodeA || got.NetworkInterfaceID != eniA || got.State != "active" {
		t.Fatalf("state route = %+v, want to %s", got, nodeA)
	}
	if in := findInstance(st, nodeA); in == nil || in.IMDSURL != e.srv.IMDSURL(nodeA) || in.PrivateIP != "10.0.1.10" || in.AZ != "us-east-1a" {
		t.Errorf("state instance = %+v", in)
	}

	if err := ctl.SetInstanceState(ctx, nodeA, "stopped"); err != nil {
		t.Fatal(err)
	}
	st, _ = ctl.State(ctx)
	if got := findRoute(st, rtbA, vip); got.State != "blackhole" || findInstance(st, nodeA).State != "stopped" {
		t.Errorf("after stop: route %+v, instance %+v", got, findInstance(st, nodeA))
	}
	if err := ctl.SetInstanceState(ctx, "i-00000000000000999", "stopped"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("stop unknown instance: %v, want 404", err)
	}
	if err := ctl.SetIMDS(ctx, nodeB, false); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.InjectFault(ctx, vpcsim.Fault{Kind: vpcsim.FaultError, Code: "InternalError"}); err != nil {
		t.Fatal(err)
	}

	// Reset returns to the world and removes faults.
	if err := ctl.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if fs, _ := ctl.Faults(ctx); len(fs) != 0 {
		t.Errorf("faults after reset = %+v", fs)
	}
	st, _ = ctl.State(ctx)
	if got := findRoute(st, rtbA, vip); got != nil {
		t.Errorf("route after reset = %+v, want none", got)
	}
	if in := findInstance(st, nodeA); in.State != "running" {
		t.Errorf("node-a after reset: %s", in.State)
	}
	if in := findInstance(st, nodeB); in.IMDSDown {
		t.Errorf("node-b IMDS still down after reset")
	}
	// Instance credentials survive a reset.
	if _, err := instanceClient(t, e.srv, nodeB).DescribeInstances(ctx, &awsec2.DescribeInstancesInput{}); err != nil {
		t.Errorf("node-b after reset: %v", err)
	}

	// Loading a world replaces everything and opens IMDS for new instances.
	st, err = ctl.LoadWorld(ctx, []byte(`
vpcs: [{id: vpc-01111111111111111, cidr: 10.7.0.0/16}]
subnets: [{id: subnet-01111111111111111, vpc: vpc-01111111111111111, cidr: 10.7.1.0/24, az: b}]
instances: [{id: i-01111111111111111, subnet: subnet-01111111111111111, private-ip: 10.7.1.7}]
`), "small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Instances) != 1 || st.Instances[0].IMDSURL == "" || len(st.RouteTables) != 1 || !st.RouteTables[0].Main {
		t.Errorf("state after load = %+v", st)
	}
	if e.srv.IMDSURL(nodeA) != "" {
		t.Error("IMDS of a removed instance is still listed")
	}
	if _, err := ctl.LoadWorld(ctx, []byte("vpcs: [{cidr: 10.0.0.0/8}]\n"), "bad.yaml"); err == nil || !strings.Contains(err.Error(), "bad.yaml:1:") {
		t.Errorf("bad world: %v, want an error with its position", err)
	}
}

func findRoute(st vpcsim.State, table, dst string) *vpcsim.RouteState {
	for _, t := range st.RouteTables {
		if t.ID != table {
			continue
		}
		for _, r := range t.Routes {
			if r.Destination == dst {
				return &r
			}
		}
	}
	return nil
}

func findInstance(st vpcsim.State, id string) *vpcsim.InstanceState {
	for _, in := range st.Instances {
		if in.ID == id {
			return &in
		}
	}
	return nil
}

func TestResolve(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	addr := netip.MustParseAddr
	tests := []struct {
		name    string
		from    string
		dst     netip.Addr
		want    string
		wantErr error
	}{
		{"overlay address to an instance that checks source/dest", subnetB, addr("192.168.100.10"), "", vpcsim.ErrSourceDestCheck},
		{"overlay address absent from another table", subnetA, addr("192.168.100.10"), "", vpcsim.ErrNoRoute},
		{"primary address via the local route", subnetA, addr("10.0.2.10"), nodeB, nil},
		{"secondary address via the local route", subnetA, addr("10.0.2.100"), nodeB, nil},
		{"second interface's address", subnetB, addr("10.0.1.21"), multi, nil},
		{"unused VPC address", subnetA, addr("10.0.9.9"), "", vpcsim.ErrNoRoute},
		{"main table serves unassociated subnets", subnetW, addr("10.0.1.10"), nodeA, nil},
		{"unknown subnet", "subnet-00000000000000999", addr("10.0.1.10"), "", vpcsim.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.srv.Resolve(tt.from, tt.dst)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("Resolve(%s, %s) = %q, %v; want %q, %v", tt.from, tt.dst, got, err, tt.want, tt.wantErr)
			}
		})
	}

	// node-b keeps AWS's default source/dest check, so traffic for the
	// overlay address is dropped there; node-a has it off and receives it.
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniB)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Resolve(subnetA, addr("192.168.100.10")); !errors.Is(err, vpcsim.ErrSourceDestCheck) {
		t.Errorf("to node-b with source/dest check on: %v, want ErrSourceDestCheck", err)
	}
	if _, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.srv.Resolve(subnetA, addr("192.168.100.10")); got != nodeA || err != nil {
		t.Errorf("after replace: %q, %v; want %s", got, err, nodeA)
	}
	if err := e.srv.SetInstanceState(nodeA, "stopped"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Resolve(subnetA, addr("192.168.100.10")); !errors.Is(err, vpcsim.ErrBlackhole) {
		t.Errorf("to stopped node-a: %v, want ErrBlackhole", err)
	}
}

func TestParseWorldErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown key", "vpcs:\n  - cidr: 10.0.0.0/16\n    colour: blue\n", []string{"w.yaml:3: field colour not found"}},
		{"wrong type", "vpcs: 3\n", []string{"w.yaml:1: cannot unmarshal"}},
		{"bad references and values", `vpcs:
  - {name: v, cidr: 10.0.0.0/16}
subnets:
  - {name: s, vpc: nope, cidr: 10.0.1.0/24, az: a}
  - {name: t, vpc: v, cidr: 10.1.1.0/24, az: us-west-2a}
instances:
  - {subnet: t, private-ip: 10.0.0.1, role: ghost}
`, []string{
			`w.yaml:4:20: subnets[0].vpc: unknown vpc "nope"`,
			"w.yaml:5:29: subnets[1].cidr: cidr 10.1.1.0/24 is not inside vpc cidr 10.0.0.0/16",
			`w.yaml:5:46: subnets[1].az: availability zone "us-west-2a" is not a zone of us-east-1`,
			`w.yaml:7:45: instances[0].role: unknown role "ghost"`,
		}},
		{"instance target with two interfaces", `vpcs: [{name: v, cidr: 10.0.0.0/16}]
subnets: [{name: s, vpc: v, cidr: 10.0.1.0/24, az: a}]
instances: [{name: i, subnet: s}]
network-interfaces: [{subnet: s, instance: i, device-index: 1}]
route-tables:
  - vpc: v
    routes: [{destination: 1.2.3.4/32, instance: i}]
`, []string{"w.yaml:7:50: route-tables[0].routes[0].instance: instance"}},
		{"reserved address", `vpcs: [{name: v, cidr: 10.0.0.0/16}]
subnets: [{name: s, vpc: v, cidr: 10.0.1.0/24, az: a}]
instances: [{subnet: s, private-ip: 10.0.1.255}]
`, []string{"instances[0].private-ip: address 10.0.1.255 is reserved"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := vpcsim.ParseWorld([]byte(tt.yaml), "w.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestExampleWorldLoads(t *testing.T) {
	if _, err := os.Stat("../../examples/world.yaml"); err != nil {
		t.Fatal(err)
	}
	w, err := vpcsim.LoadWorld("../../examples/world.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := vpcsimtest.NewServer(t, w)
	// node-a may fail the overlay route over to itself with its role.
	c := instanceClient(t, srv, "i-0a0000000000000a1")
	for _, rtb := range []string{"rtb-0a00000000000000a", "rtb-0b00000000000000b"} {
		if _, err := c.CreateRoute(t.Context(), &awsec2.CreateRouteInput{RouteTableId: aws.String(rtb), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String("i-0a0000000000000a1")}); err != nil {
			t.Fatalf("create route in %s as node-a: %v", rtb, err)
		}
	}
	if got, err := srv.Resolve("subnet-0d00000000000004d", netip.MustParseAddr("192.168.100.10")); got != "i-0a0000000000000a1" || err != nil {
		t.Errorf("client reaches %q, %v; want node-a", got, err)
	}
}

// TestManyCallsOnOneConnection is the regression test for the smithy-go /
// net/http request-body race that vpcsimtest.BodyRaceFix works around:
// without it, a few percent of calls on a reused loopback connection failed
// with "use of closed network connection" while reading the answer.
func TestManyCallsOnOneConnection(t *testing.T) {
	e := newEnv(t)
	for i := range 200 {
		if _, err := e.ec2.DescribeInstances(t.Context(), &awsec2.DescribeInstancesInput{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func TestWorldDumpRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AttachNetworkInterface(ctx, &awsec2.AttachNetworkInterfaceInput{NetworkInterfaceId: aws.String(eniSpare), InstanceId: aws.String(nodeB), DeviceIndex: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AssignPrivateIpAddresses(ctx, &awsec2.AssignPrivateIpAddressesInput{NetworkInterfaceId: aws.String(eniSpare), PrivateIpAddresses: []string{"10.0.2.100"}, AllowReassignment: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetInstanceState(witness, "stopped"); err != nil {
		t.Fatal(err)
	}
	dump, err := simclient.New(e.srv.URL(), nil).World(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w, err := vpcsim.ParseWorld(dump, "dump.yaml")
	if err != nil {
		t.Fatalf("dump does not parse: %v\n%s", err, dump)
	}
	again := vpcsimtest.NewServer(t, w)
	// IMDS ports and association IDs are not part of a world.
	strip := func(st vpcsim.State) vpcsim.State {
		for i := range st.Instances {
			st.Instances[i].IMDSURL = ""
		}
		for i := range st.ElasticIPs {
			st.ElasticIPs[i].AssociationID = ""
		}
		return st
	}
	if diff := cmp.Diff(strip(e.srv.Snapshot()), strip(again.Snapshot())); diff != "" {
		t.Errorf("state after dump and reload (-before +after):\n%s", diff)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{HistoryLimit: 50})
	c := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv))
	for range 120 {
		if _, err := c.DescribeVpcs(t.Context(), &awsec2.DescribeVpcsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	calls := srv.Calls(0)
	if len(calls) > 50 || len(calls) < 40 || calls[len(calls)-1].Seq != 120 {
		t.Fatalf("kept %d calls ending at %d, want 40..50 ending at 120", len(calls), calls[len(calls)-1].Seq)
	}
	if got := srv.Calls(115); len(got) != 5 || got[0].Seq != 116 {
		t.Errorf("calls since 115 = %d starting at %d", len(got), got[0].Seq)
	}
}

func TestCountedHangIsReleasedByClear(t *testing.T) {
	e := newEnv(t)
	if _, err := e.srv.InjectFault(vpcsim.Fault{Action: "DescribeVpcs", Kind: vpcsim.FaultHang, Count: 1}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.ec2.DescribeVpcs(t.Context(), &awsec2.DescribeVpcsInput{})
		done <- err
	}()
	// The fault is spent (no longer listed) once it holds the call; a
	// second call passes.
	waitFor(t, "the fault to be spent", func() bool { return len(e.srv.Faults()) == 0 })
	if _, err := e.ec2.DescribeVpcs(t.Context(), &awsec2.DescribeVpcsInput{}); err != nil {
		t.Fatalf("second call: %v", err)
	}
	e.srv.ClearFaults(0)
	select {
	case err := <-done:
		if code(t, err) != "Unavailable" {
			t.Errorf("released call: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ClearFaults did not release the call held by a spent fault")
	}
}

// TestLateWrite covers the late-write fault: AWS may apply a mutation
// after its client gave up (EC2's idempotency guide tells callers to check
// a timed-out mutation's result before retrying:
// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html),
// so a write under an old fencing token can take effect after a write
// under a newer one (issue 16, finding 6).
func TestLateWrite(t *testing.T) {
	e := newEnv(t)
	ctl := simclient.New(e.srv.URL(), nil)
	ctx := t.Context()
	withToken := func(id, token string) *awsec2.Client {
		return awsec2.NewFromConfig(vpcsimtest.InstanceConfig(t, e.srv, id, config.WithRetryMaxAttempts(1)),
			awsec2.WithAPIOptions(middleware.AddUserAgentKeyValue("vipd-token", token)))
	}
	replace := func(ctx context.Context, c *awsec2.Client, eni string) error {
		_, err := c.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eni)})
		return err
	}
	// lateCalls returns the late writes recorded after sequence since.
	lateCalls := func(since uint64) []vpcsim.Call {
		calls, err := ctl.Calls(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		var out []vpcsim.Call
		for _, c := range calls {
			if c.Late {
				out = append(out, c)
			}
		}
		return out
	}

	t.Run("a stale write takes effect after a newer one", func(t *testing.T) {
		t.Cleanup(func() { ctl.Reset(context.WithoutCancel(ctx)) })
		const delay = 300 * time.Millisecond
		if _, err := ctl.InjectFault(ctx, vpcsim.Fault{Action: "ReplaceRoute", Caller: nodeA, Kind: vpcsim.FaultLateWrite, Delay: vpcsim.Duration(delay)}); err != nil {
			t.Fatal(err)
		}
		a, b := withToken(nodeA, "5"), withToken(nodeB, "6")
		for _, c := range []*awsec2.Client{a, b} { // fetch their credentials
			if _, err := c.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{}); err != nil {
				t.Fatal(err)
			}
		}
		since := uint64(len(e.srv.Calls(0)))
		// node-a, holding token 5, gives up on its write while it is held.
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- replace(cctx, a, eniA) }()
		waitFor(t, "node-a's write to be held", func() bool { fs := e.srv.Faults(); return len(fs) == 1 && fs[0].Held == 1 })
		cancel()
		gaveUp := time.Now()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("node-a's write: %v, want its own cancel", err)
		}
		if r := routeTo(t, e.ec2, rtbB, vip); aws.ToString(r.NetworkInterfaceId) != eniB {
			t.Fatalf("route points to %s right after node-a gave up, want still %s", aws.ToString(r.NetworkInterfaceId), eniB)
		}
		// node-b, granted token 6, writes and succeeds.
		if err := replace(ctx, b, eniB); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the late write", func() bool { return len(lateCalls(since)) == 1 })
		if r := routeTo(t, e.ec2, rtbB, vip); aws.ToString(r.NetworkInterfaceId) != eniA {
			t.Errorf("route points to %s, want %s: node-a's late write took effect last", aws.ToString(r.NetworkInterfaceId), eniA)
		}

		calls, err := ctl.Calls(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		type rec struct {
			Caller, Code string
			Status       int
			Token        uint64
			Applied      bool
			Late         bool
		}
		var got []rec
		var applied []time.Time
		for _, c := range calls {
			if c.Action != "ReplaceRoute" {
				continue
			}
			got = append(got, rec{c.Caller, c.Code, c.Status, c.Token, !c.Applied.IsZero(), c.Late})
			applied = append(applied, c.Applied)
		}
		want := []rec{
			{nodeA, "Unavailable", 503, 5, false, false}, // what node-a's request ended with
			{nodeB, "", 200, 6, true, false},
			{nodeA, "", 200, 5, true, true}, // node-a's write taking effect
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("history (-want +got):\n%s", diff)
		}
		if !applied[2].After(applied[1]) {
			t.Errorf("late write applied at %s, not after node-b's write at %s", applied[2], applied[1])
		}
		if early := gaveUp.Add(delay - 100*time.Millisecond); applied[2].Before(early) {
			t.Errorf("late write applied at %s, before the client gave up plus the delay (%s)", applied[2], early)
		}
	})

	t.Run("the fault timeout releases a waiting client", func(t *testing.T) {
		t.Cleanup(func() { ctl.Reset(context.WithoutCancel(ctx)) })
		if _, err := ctl.InjectFault(ctx, vpcsim.Fault{Action: "ReplaceRoute", Kind: vpcsim.FaultLateWrite, Timeout: vpcsim.Duration(100 * time.Millisecond), Count: 1}); err != nil {
			t.Fatal(err)
		}
		since := uint64(len(e.srv.Calls(0)))
		err := replace(ctx, e.ec2, eniA)
		if got := code(t, err); got != "Unavailable" || httpStatus(err) != http.StatusServiceUnavailable {
			t.Fatalf("held write: %v, want Unavailable 503", err)
		}
		waitFor(t, "the late write", func() bool { return len(lateCalls(since)) == 1 })
		if r := routeTo(t, e.ec2, rtbB, vip); aws.ToString(r.NetworkInterfaceId) != eniA {
			t.Errorf("route points to %s, want %s: a write answered Unavailable took effect", aws.ToString(r.NetworkInterfaceId), eniA)
		}
	})

	t.Run("a refused write is answered at once and never applied", func(t *testing.T) {
		t.Cleanup(func() { ctl.Reset(context.WithoutCancel(ctx)) })
		if _, err := ctl.InjectFault(ctx, vpcsim.Fault{Kind: vpcsim.FaultLateWrite, Timeout: vpcsim.Duration(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		// AWS checks a request before it accepts it: the witness's role
		// may not replace routes, and a dry run only asks.
		if err := replace(ctx, instanceClient(t, e.srv, witness), eniA); code(t, err) != "UnauthorizedOperation" {
			t.Errorf("unauthorized write under a late-write fault: %v, want UnauthorizedOperation at once", err)
		}
		_, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip),
			NetworkInterfaceId: aws.String(eniA), DryRun: aws.Bool(true)})
		if got := code(t, err); got != "DryRunOperation" {
			t.Errorf("dry run under a late-write fault: %v, want DryRunOperation at once", err)
		}
		// Reads pass: nothing they do could take effect late.
		if _, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{}); err != nil {
			t.Errorf("read under a late-write fault: %v", err)
		}
		if _, err := ctl.InjectFault(ctx, vpcsim.Fault{Action: "DescribeRouteTables", Kind: vpcsim.FaultLateWrite}); err == nil {
			t.Error("a late-write fault on a read action was accepted")
		}
		if r := routeTo(t, e.ec2, rtbB, vip); aws.ToString(r.NetworkInterfaceId) != eniB {
			t.Errorf("route points to %s, want the world's %s", aws.ToString(r.NetworkInterfaceId), eniB)
		}
	})

	t.Run("a reset drops the writes still waiting", func(t *testing.T) {
		const delay = 200 * time.Millisecond
		since := uint64(len(e.srv.Calls(0)))
		if _, err := ctl.InjectFault(ctx, vpcsim.Fault{Action: "ReplaceRoute", Kind: vpcsim.FaultLateWrite, Delay: vpcsim.Duration(delay), Timeout: vpcsim.Duration(50 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		if err := replace(ctx, e.ec2, eniA); code(t, err) != "Unavailable" {
			t.Fatalf("held write: %v, want Unavailable", err)
		}
		if err := ctl.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		// Nothing can be waited for: the write must stay absent for longer
		// than its delay.
		time.Sleep(3 * delay)
		if r := routeTo(t, e.ec2, rtbB, vip); aws.ToString(r.NetworkInterfaceId) != eniB {
			t.Errorf("route points to %s after a reset, want the world's %s", aws.ToString(r.NetworkInterfaceId), eniB)
		}
		if late := lateCalls(since); len(late) != 0 {
			t.Errorf("late writes recorded after a reset: %+v", late)
		}
	})
}
