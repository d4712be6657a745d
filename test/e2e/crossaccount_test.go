//go:build e2e

package e2e

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/vipd/vipd/internal/chaos"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// sharedVPCFailover bounds the failover through the assumed role: the
// lease (1 s) runs out, the other node takes it and writes every table
// with the role's credentials, cached since its start.
const sharedVPCFailover = 10 * time.Second

// TestNetnsSharedVPCRouteTableFailsOver: the nodes run in one account, in
// a VPC that a second account owns and shares with it (VPC sharing: the
// route tables stay the owner's, and "participants cannot view, modify,
// or delete resources that belong to other participants or the VPC
// owner", Amazon VPC User Guide, "Share your VPC subnets with other
// accounts"). The overlay route is written with the temporary
// credentials of the owner account's role, which the nodes' role assumes
// with an external ID (aws.assume-role, docs/cross-account.md). With the
// node's own credentials the owner's tables are invisible and a route
// write is refused with UnauthorizedOperation; after kill -9 of the
// holder, the other node moves the route in every table through the
// role, and the client's real packets, from its own namespace, reach it.
// vpcsim's call log shows each route write made by the role's session
// (arn:aws:sts::<owner>:assumed-role/vipd-routes/vipd-<node>), none by the
// node's own role. Issue 22.
func TestNetnsSharedVPCRouteTableFailsOver(t *testing.T) {
	c := startNetns(t, chaos.Options{Mode: chaos.ModeOverlay, SharedVPC: true})
	ctx := t.Context()
	p := c.Holder(ctx)
	if p == "" {
		t.Fatal("no holder after start")
	}
	waitServed(t, c, p, 5*time.Second)
	q := other(p)
	vip := netip.PrefixFrom(c.Target, c.Target.BitLen())
	var tables []string
	for _, rt := range c.Srv.Snapshot().RouteTables {
		tables = append(tables, rt.ID)
	}

	// Without the role: q's own credentials (its instance role, from
	// IMDS) neither see the owner's tables nor change them.
	own := ec2.NewFromConfig(vpcsimtest.InstanceConfig(t, c.Srv, c.Host(q).InstanceID, awsconfig.WithRetryMaxAttempts(1)))
	seen, err := own.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	if err != nil {
		t.Fatalf("DescribeRouteTables with %s's own credentials: %v", q, err)
	}
	for _, rt := range seen.RouteTables {
		if slices.Contains(tables, aws.ToString(rt.RouteTableId)) {
			t.Errorf("%s's own credentials see the owner's route table %s", q, aws.ToString(rt.RouteTableId))
		}
	}
	_, err = own.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(tables[0]),
		DestinationCidrBlock: aws.String(vip.String()), NetworkInterfaceId: aws.String(c.Host(q).ENI)})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnauthorizedOperation" {
		t.Fatalf("ReplaceRoute in the owner's %s with %s's own credentials: %v, want UnauthorizedOperation", tables[0], q, err)
	}
	if got := routeIn(c, tables[0]); got != c.Host(p).ENI {
		t.Fatalf("after the refused write %s routes %s to %q, want the holder %s's %s", tables[0], vip, got, p, c.Host(p).ENI)
	}

	before := c.Srv.Calls(0)
	assumed := func(node string) bool {
		return slices.ContainsFunc(before, func(call vpcsim.Call) bool {
			return call.Service == "sts" && call.Action == "AssumeRole" && call.Code == "" && call.Caller == c.Host(node).InstanceID
		})
	}
	if !assumed(q) {
		t.Errorf("%s did not assume %s at start", q, chaos.RoutesRole)
	}
	since := before[len(before)-1].Seq

	c.Kill(p)
	took := waitServed(t, c, q, 30*time.Second)
	t.Logf("client served by %s %s after kill -9 of %s, through %s (%d route tables)", q, took.Round(time.Millisecond), p, chaos.RoutesRole, len(tables))
	if took > sharedVPCFailover {
		t.Errorf("failover through the assumed role took %s, want at most %s", took, sharedVPCFailover)
	}
	for _, table := range tables {
		if got, want := routeIn(c, table), c.Host(q).ENI; got != want {
			t.Errorf("after the failover %s routes %s to %q, want the new holder %s's %s", table, vip, got, q, want)
		}
	}

	session := "arn:aws:sts::" + chaos.OwnerAccount + ":assumed-role/vipd-routes/vipd-" + q
	written := map[string]bool{}
	for _, call := range c.Srv.Calls(since) {
		if call.Service != "ec2" || (call.Action != "CreateRoute" && call.Action != "ReplaceRoute") {
			continue
		}
		if call.Code != "" {
			continue
		}
		if call.Principal != session || call.Caller != c.Host(q).InstanceID {
			t.Errorf("%s of %s by %s (%s), want only %s's session %s", call.Action, call.Params["RouteTableId"], call.Caller, call.Principal, q, session)
			continue
		}
		written[call.Params["RouteTableId"]] = true
	}
	for _, table := range tables {
		if !written[table] {
			t.Errorf("no route write in %s by %s after the kill", table, session)
		}
	}
}
