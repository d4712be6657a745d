package vpcsim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// IDs of testdata/world.yaml.
const (
	vpcDemo   = "vpc-0a0000000000000a1"
	vpcOther  = "vpc-0f0000000000000f1"
	subnetA   = "subnet-0a00000000000001a"
	subnetB   = "subnet-0b00000000000002b"
	subnetW   = "subnet-0c00000000000003c"
	rtbMain   = "rtb-0e0000000000000e0"
	rtbA      = "rtb-0a00000000000000a"
	rtbB      = "rtb-0b00000000000000b"
	rtbOther  = "rtb-0f00000000000000f"
	nodeA     = "i-0a0000000000000a1"
	nodeB     = "i-0b0000000000000b1"
	witness   = "i-0c0000000000000c1"
	multi     = "i-0d0000000000000d1"
	outsider  = "i-0f0000000000000f1"
	eniA      = "eni-0a0000000000000a1"
	eniB      = "eni-0b0000000000000b1"
	eniMulti2 = "eni-0d0000000000000d2"
	eniSpare  = "eni-0e0000000000000e1"
	vip       = "192.168.100.10/32"
)

func loadTestWorld(t *testing.T) *vpcsim.World { return loadWorldB(t) }

func loadWorldB(t testing.TB) *vpcsim.World {
	t.Helper()
	w, err := vpcsim.LoadWorld("testdata/world.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// env is a started server and an admin EC2 client that does not retry, so
// that error answers reach the test unchanged.
type env struct {
	srv *vpcsim.Server
	ec2 *awsec2.Client
}

func newEnv(t *testing.T) env {
	t.Helper()
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	cfg := vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1))
	return env{srv: srv, ec2: awsec2.NewFromConfig(cfg)}
}

func instanceClient(t *testing.T, srv *vpcsim.Server, id string) *awsec2.Client {
	t.Helper()
	return awsec2.NewFromConfig(vpcsimtest.InstanceConfig(t, srv, id, config.WithRetryMaxAttempts(1)))
}

// code returns the EC2 error code of err, "" for nil.
func code(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error is not an API error: %v", err)
	}
	return ae.ErrorCode()
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

func tableIDs(out *awsec2.DescribeRouteTablesOutput) []string {
	var ids []string
	for _, t := range out.RouteTables {
		ids = append(ids, aws.ToString(t.RouteTableId))
	}
	sort.Strings(ids)
	return ids
}

func routeTo(t *testing.T, c *awsec2.Client, table, dst string) *types.Route {
	t.Helper()
	out, err := c.DescribeRouteTables(t.Context(), &awsec2.DescribeRouteTablesInput{RouteTableIds: []string{table}})
	if err != nil {
		t.Fatalf("describe %s: %v", table, err)
	}
	for _, r := range out.RouteTables[0].Routes {
		if aws.ToString(r.DestinationCidrBlock) == dst {
			return &r
		}
	}
	return nil
}

func TestDescribeRouteTablesFilters(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		in   awsec2.DescribeRouteTablesInput
		want []string
	}{
		{"no filter lists every table", awsec2.DescribeRouteTablesInput{}, []string{rtbMain, rtbA, rtbB, rtbOther}},
		{"by id", awsec2.DescribeRouteTablesInput{RouteTableIds: []string{rtbB, rtbA}}, []string{rtbA, rtbB}},
		{"vpc-id", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("vpc-id", vpcOther)}}, []string{rtbOther}},
		{"route-table-id with wildcard", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("route-table-id", "rtb-0a*")}}, []string{rtbA}},
		{"association.subnet-id", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("association.subnet-id", subnetB)}}, []string{rtbB}},
		{"association.main true", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("association.main", "true")}}, []string{rtbMain, rtbOther}},
		{"association.main false matches tables with explicit associations", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("association.main", "false")}}, []string{rtbA, rtbB}},
		{"route.destination-cidr-block", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("route.destination-cidr-block", vip)}}, []string{rtbB}},
		{"route.network-interface-id", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("route.network-interface-id", eniB)}}, []string{rtbB}},
		{"values of one filter OR", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("association.subnet-id", subnetA, subnetB)}}, []string{rtbA, rtbB}},
		{"filters AND", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("vpc-id", vpcDemo), filter("association.main", "true")}}, []string{rtbMain}},
		{"tag", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("tag:Name", "rt-a", "rt-b")}}, []string{rtbA, rtbB}},
		{"tag-key", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("tag-key", "tier")}}, []string{rtbA}},
		{"no match", awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("association.subnet-id", subnetW)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.ec2.DescribeRouteTables(t.Context(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tt.want)
			sort.Strings(want)
			if diff := cmp.Diff(want, tableIDs(out)); diff != "" {
				t.Errorf("tables (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribeRouteTablesShape(t *testing.T) {
	e := newEnv(t)
	out, err := e.ec2.DescribeRouteTables(t.Context(), &awsec2.DescribeRouteTablesInput{RouteTableIds: []string{rtbB}})
	if err != nil {
		t.Fatal(err)
	}
	rt := out.RouteTables[0]
	if got := aws.ToString(rt.VpcId); got != vpcDemo {
		t.Errorf("VpcId = %q, want %q", got, vpcDemo)
	}
	if got := aws.ToString(rt.OwnerId); got != "123456789012" {
		t.Errorf("OwnerId = %q", got)
	}
	type route struct{ Dst, Gateway, ENI, Instance, Owner, State, Origin string }
	var got []route
	for _, r := range rt.Routes {
		got = append(got, route{aws.ToString(r.DestinationCidrBlock), aws.ToString(r.GatewayId), aws.ToString(r.NetworkInterfaceId),
			aws.ToString(r.InstanceId), aws.ToString(r.InstanceOwnerId), string(r.State), string(r.Origin)})
	}
	want := []route{
		{"10.0.0.0/16", "local", "", "", "", "active", "CreateRouteTable"},
		{vip, "", eniB, nodeB, "123456789012", "active", "CreateRoute"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if len(rt.Associations) != 1 || aws.ToString(rt.Associations[0].SubnetId) != subnetB || aws.ToBool(rt.Associations[0].Main) {
		t.Errorf("associations = %+v, want one explicit association with %s", rt.Associations, subnetB)
	}
	if rt.Associations[0].AssociationState == nil || rt.Associations[0].AssociationState.State != types.RouteTableAssociationStateCodeAssociated {
		t.Errorf("association state = %+v, want associated", rt.Associations[0].AssociationState)
	}
}

func TestDescribeErrors(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"unknown route table", func() error {
			_, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{RouteTableIds: []string{"rtb-00000000000000999"}})
			return err
		}, "InvalidRouteTableID.NotFound"},
		{"unknown filter", func() error {
			_, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{Filters: []types.Filter{filter("colour", "blue")}})
			return err
		}, "InvalidParameterValue"},
		{"unknown instance", func() error {
			_, err := e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{"i-00000000000000999"}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"malformed instance id", func() error {
			_, err := e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{"node-a"}})
			return err
		}, "InvalidInstanceID.Malformed"},
		{"unknown network interface", func() error {
			_, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-00000000000000999"}})
			return err
		}, "InvalidNetworkInterfaceID.NotFound"},
		{"unknown vpc", func() error {
			_, err := e.ec2.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{VpcIds: []string{"vpc-00000000000000999"}})
			return err
		}, "InvalidVpcID.NotFound"},
		{"unknown subnet", func() error {
			_, err := e.ec2.DescribeSubnets(ctx, &awsec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-00000000000000999"}})
			return err
		}, "InvalidSubnetID.NotFound"},
		{"unsupported action", func() error {
			// FPGA images are far from anything vipd or the moto
			// suite needs: vpcsim will not model them.
			_, err := e.ec2.DescribeFpgaImages(ctx, &awsec2.DescribeFpgaImagesInput{})
			return err
		}, "InvalidAction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := code(t, err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if got := httpStatus(err); got != http.StatusBadRequest {
				t.Errorf("HTTP status = %d, want 400", got)
			}
		})
	}
}

func TestRouteLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	changes := e.srv.Changes()
	select { // drain a hint from startup, if any
	case <-changes:
	default:
	}

	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)}); err != nil {
		t.Fatalf("create route: %v", err)
	}
	select {
	case <-changes:
	default:
		t.Error("no change signalled after CreateRoute")
	}
	r := routeTo(t, e.ec2, rtbA, vip)
	if r == nil || aws.ToString(r.NetworkInterfaceId) != eniA || aws.ToString(r.InstanceId) != nodeA || r.Origin != types.RouteOriginCreateRoute {
		t.Fatalf("route after create = %+v, want to %s (%s)", r, eniA, nodeA)
	}

	// Replace by instance ID: the route reports the instance's interface.
	if _, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(nodeB)}); err != nil {
		t.Fatalf("replace route: %v", err)
	}
	r = routeTo(t, e.ec2, rtbA, vip)
	if r == nil || aws.ToString(r.NetworkInterfaceId) != eniB || aws.ToString(r.InstanceId) != nodeB || aws.ToString(r.InstanceOwnerId) != "123456789012" {
		t.Fatalf("route after replace = %+v, want to %s (%s)", r, eniB, nodeB)
	}

	if _, err := e.ec2.DeleteRoute(ctx, &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip)}); err != nil {
		t.Fatalf("delete route: %v", err)
	}
	if r := routeTo(t, e.ec2, rtbA, vip); r != nil {
		t.Fatalf("route after delete = %+v, want none", r)
	}
}

func TestRouteErrors(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	create := func(table, dst string, mod func(*awsec2.CreateRouteInput)) func() error {
		return func() error {
			in := &awsec2.CreateRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String(dst)}
			mod(in)
			_, err := e.ec2.CreateRoute(ctx, in)
			return err
		}
	}
	eni := func(id string) func(*awsec2.CreateRouteInput) {
		return func(in *awsec2.CreateRouteInput) { in.NetworkInterfaceId = aws.String(id) }
	}
	inst := func(id string) func(*awsec2.CreateRouteInput) {
		return func(in *awsec2.CreateRouteInput) { in.InstanceId = aws.String(id) }
	}
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"create existing route", create(rtbB, vip, eni(eniA)), "RouteAlreadyExists"},
		{"create route equal to the local route", create(rtbA, "10.0.0.0/16", eni(eniA)), "RouteAlreadyExists"},
		{"create in unknown table", create("rtb-00000000000000999", vip, eni(eniA)), "InvalidRouteTableID.NotFound"},
		{"create with malformed table id", create("table-a", vip, eni(eniA)), "InvalidRouteTableId.Malformed"},
		{"create with bad cidr", create(rtbA, "192.168.100.300/32", eni(eniA)), "InvalidParameterValue"},
		{"create with host bits set", create(rtbA, "192.168.100.10/24", eni(eniA)), "InvalidParameterValue"},
		{"create to unknown interface", create(rtbA, vip, eni("eni-00000000000000999")), "InvalidNetworkInterfaceID.NotFound"},
		{"create to unknown instance", create(rtbA, vip, inst("i-00000000000000999")), "InvalidInstanceID.NotFound"},
		{"create to instance with several interfaces", create(rtbA, vip, inst(multi)), "InvalidInstanceID"},
		{"create to interface of another vpc", create(rtbA, vip, inst(outsider)), "InvalidParameterValue"},
		{"create without target", create(rtbA, vip, func(*awsec2.CreateRouteInput) {}), "MissingParameter"},
		{"create with two targets", create(rtbA, vip, func(in *awsec2.CreateRouteInput) {
			in.NetworkInterfaceId = aws.String(eniA)
			in.InstanceId = aws.String(nodeA)
		}), "InvalidParameterCombination"},
		{"replace missing route", func() error {
			_, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)})
			return err
		}, "InvalidParameterValue"},
		{"replace in unknown table", func() error {
			_, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String("rtb-00000000000000999"), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)})
			return err
		}, "InvalidRouteTableID.NotFound"},
		{"replace to unknown interface", func() error {
			_, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String("eni-00000000000000999")})
			return err
		}, "InvalidNetworkInterfaceID.NotFound"},
		{"replace to instance with several interfaces", func() error {
			_, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip), InstanceId: aws.String(multi)})
			return err
		}, "InvalidInstanceID"},
		{"delete missing route", func() error {
			_, err := e.ec2.DeleteRoute(ctx, &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip)})
			return err
		}, "InvalidRoute.NotFound"},
		{"delete local route", func() error {
			_, err := e.ec2.DeleteRoute(ctx, &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String("10.0.0.0/16")})
			return err
		}, "InvalidParameterValue"},
		{"delete with bad cidr", func() error {
			_, err := e.ec2.DeleteRoute(ctx, &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String("nonsense")})
			return err
		}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := code(t, err); got != tt.code {
				t.Fatalf("code = %q, want %q (err %v)", got, tt.code, err)
			}
			if got := httpStatus(err); got != http.StatusBadRequest {
				t.Errorf("HTTP status = %d, want 400", got)
			}
		})
	}
	// None of the failed calls changed the tables.
	if r := routeTo(t, e.ec2, rtbA, vip); r != nil {
		t.Errorf("failed calls left route %+v in %s", r, rtbA)
	}
	if r := routeTo(t, e.ec2, rtbB, vip); r == nil || aws.ToString(r.NetworkInterfaceId) != eniB {
		t.Errorf("failed calls changed the route in %s to %+v", rtbB, r)
	}
}

func TestRouteBlackholeWhenInstanceStops(t *testing.T) {
	e := newEnv(t)
	if err := e.srv.SetInstanceState(nodeB, "stopped"); err != nil {
		t.Fatal(err)
	}
	if r := routeTo(t, e.ec2, rtbB, vip); r == nil || r.State != types.RouteStateBlackhole {
		t.Fatalf("route to stopped instance = %+v, want blackhole", r)
	}
	if err := e.srv.SetInstanceState(nodeB, "running"); err != nil {
		t.Fatal(err)
	}
	if r := routeTo(t, e.ec2, rtbB, vip); r == nil || r.State != types.RouteStateActive {
		t.Fatalf("route to running instance = %+v, want active", r)
	}
}

func instanceIDs(out *awsec2.DescribeInstancesOutput) []string {
	var ids []string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	sort.Strings(ids)
	return ids
}

func TestDescribeInstances(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		in   awsec2.DescribeInstancesInput
		want []string
	}{
		{"by id", awsec2.DescribeInstancesInput{InstanceIds: []string{nodeB, nodeA}}, []string{nodeA, nodeB}},
		{"instance-id", awsec2.DescribeInstancesInput{Filters: []types.Filter{filter("instance-id", witness)}}, []string{witness}},
		{"private-ip-address", awsec2.DescribeInstancesInput{Filters: []types.Filter{filter("private-ip-address", "10.0.2.10")}}, []string{nodeB}},
		{"network-interface.network-interface-id", awsec2.DescribeInstancesInput{Filters: []types.Filter{filter("network-interface.network-interface-id", eniMulti2)}}, []string{multi}},
		{"network-interface.addresses.private-ip-address finds secondaries", awsec2.DescribeInstancesInput{Filters: []types.Filter{filter("network-interface.addresses.private-ip-address", "10.0.2.100")}}, []string{nodeB}},
		{"tag:Name", awsec2.DescribeInstancesInput{Filters: []types.Filter{filter("tag:Name", "node-*")}}, []string{nodeA, nodeB}},
		{"instance-state-name", awsec2.DescribeInstancesInput{Filters: []types.Filter{filter("instance-state-name", "stopped")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.ec2.DescribeInstances(t.Context(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tt.want)
			sort.Strings(want)
			if diff := cmp.Diff(want, instanceIDs(out)); diff != "" {
				t.Errorf("instances (-want +got):\n%s", diff)
			}
		})
	}

	out, err := e.ec2.DescribeInstances(t.Context(), &awsec2.DescribeInstancesInput{InstanceIds: []string{nodeA}})
	if err != nil {
		t.Fatal(err)
	}
	in := out.Reservations[0].Instances[0]
	got := []string{aws.ToString(in.PrivateIpAddress), aws.ToString(in.SubnetId), aws.ToString(in.VpcId), string(in.State.Name),
		aws.ToString(in.Placement.AvailabilityZone), aws.ToString(in.NetworkInterfaces[0].NetworkInterfaceId), aws.ToString(in.NetworkInterfaces[0].MacAddress),
		aws.ToString(in.IamInstanceProfile.Arn)}
	want := []string{"10.0.1.10", subnetA, vpcDemo, "running", "us-east-1a", eniA, "02:00:00:00:0a:01", "arn:aws:iam::123456789012:instance-profile/vipd-node"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("node-a (-want +got):\n%s", diff)
	}
	if aws.ToBool(in.SourceDestCheck) {
		t.Error("node-a SourceDestCheck = true, want false (world sets it off)")
	}
	if aws.ToInt32(in.State.Code) != 16 {
		t.Errorf("state code = %d, want 16", aws.ToInt32(in.State.Code))
	}
}

func TestInstanceAttributeSourceDestCheck(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	get := func(id string) bool {
		t.Helper()
		out, err := e.ec2.DescribeInstanceAttribute(ctx, &awsec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: types.InstanceAttributeNameSourceDestCheck})
		if err != nil {
			t.Fatalf("describe attribute: %v", err)
		}
		return aws.ToBool(out.SourceDestCheck.Value)
	}
	if !get(nodeB) {
		t.Fatal("node-b source/dest check off initially, want on (AWS default)")
	}
	if _, err := e.ec2.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: aws.String(nodeB), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatalf("modify: %v", err)
	}
	if get(nodeB) {
		t.Fatal("node-b source/dest check on after disabling it")
	}
	// The interface reports it too: the attribute lives on the primary ENI.
	out, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eniB}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToBool(out.NetworkInterfaces[0].SourceDestCheck) {
		t.Error("eni of node-b still checks source/dest")
	}

	_, err = e.ec2.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: aws.String(multi), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	if got := code(t, err); got != "InvalidInstanceID" {
		t.Errorf("modify dual-homed instance: code %q, want InvalidInstanceID", got)
	}
	_, err = e.ec2.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: aws.String("i-00000000000000999"), SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}})
	if got := code(t, err); got != "InvalidInstanceID.NotFound" {
		t.Errorf("modify unknown instance: code %q, want InvalidInstanceID.NotFound", got)
	}
	_, err = e.ec2.DescribeInstanceAttribute(ctx, &awsec2.DescribeInstanceAttributeInput{InstanceId: aws.String("i-00000000000000999"), Attribute: types.InstanceAttributeNameSourceDestCheck})
	if got := code(t, err); got != "InvalidInstanceID.NotFound" {
		t.Errorf("describe attribute of unknown instance: code %q, want InvalidInstanceID.NotFound", got)
	}
}

func TestDescribeNetworkInterfaces(t *testing.T) {
	e := newEnv(t)
	ids := func(out *awsec2.DescribeNetworkInterfacesOutput) []string {
		var ids []string
		for _, n := range out.NetworkInterfaces {
			ids = append(ids, aws.ToString(n.NetworkInterfaceId))
		}
		sort.Strings(ids)
		return ids
	}
	tests := []struct {
		name    string
		filters []types.Filter
		want    []string
	}{
		{"network-interface-id", []types.Filter{filter("network-interface-id", eniSpare)}, []string{eniSpare}},
		{"addresses.private-ip-address finds a secondary", []types.Filter{filter("addresses.private-ip-address", "10.0.2.100")}, []string{eniB}},
		{"attachment.instance-id", []types.Filter{filter("attachment.instance-id", multi)}, []string{"eni-" + "placeholder", eniMulti2}},
		{"subnet-id", []types.Filter{filter("subnet-id", subnetB)}, []string{eniB, eniSpare}},
		{"status available", []types.Filter{filter("status", "available")}, []string{eniSpare}},
		{"vpc-id", []types.Filter{filter("vpc-id", vpcOther)}, nil},
	}
	// multi's primary interface has a generated ID; find it.
	all, err := e.ec2.DescribeNetworkInterfaces(t.Context(), &awsec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{filter("attachment.instance-id", multi), filter("attachment.device-index", "0")}})
	if err != nil || len(all.NetworkInterfaces) != 1 {
		t.Fatalf("primary interface of multi: %v %v", all, err)
	}
	tests[2].want[0] = aws.ToString(all.NetworkInterfaces[0].NetworkInterfaceId)
	outsiderENI, err := e.ec2.DescribeNetworkInterfaces(t.Context(), &awsec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{filter("attachment.instance-id", outsider)}})
	if err != nil || len(outsiderENI.NetworkInterfaces) != 1 {
		t.Fatalf("interface of outsider: %v %v", outsiderENI, err)
	}
	tests[5].want = []string{aws.ToString(outsiderENI.NetworkInterfaces[0].NetworkInterfaceId)}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.ec2.DescribeNetworkInterfaces(t.Context(), &awsec2.DescribeNetworkInterfacesInput{Filters: tt.filters})
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tt.want)
			sort.Strings(want)
			if diff := cmp.Diff(want, ids(out)); diff != "" {
				t.Errorf("interfaces (-want +got):\n%s", diff)
			}
		})
	}

	out, err := e.ec2.DescribeNetworkInterfaces(t.Context(), &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eniMulti2}})
	if err != nil {
		t.Fatal(err)
	}
	n := out.NetworkInterfaces[0]
	if n.Status != types.NetworkInterfaceStatusInUse || n.Attachment == nil || aws.ToString(n.Attachment.InstanceId) != multi ||
		aws.ToInt32(n.Attachment.DeviceIndex) != 1 || n.Attachment.Status != types.AttachmentStatusAttached || aws.ToString(n.AvailabilityZone) != "us-east-1a" {
		t.Errorf("second interface of multi = %+v, attachment %+v", n, n.Attachment)
	}
}

func TestDescribeVpcsAndSubnets(t *testing.T) {
	e := newEnv(t)
	vpcs, err := e.ec2.DescribeVpcs(t.Context(), &awsec2.DescribeVpcsInput{Filters: []types.Filter{filter("cidr", "10.0.0.0/16")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].VpcId) != vpcDemo || vpcs.Vpcs[0].State != types.VpcStateAvailable {
		t.Fatalf("vpcs = %+v", vpcs.Vpcs)
	}
	subnets, err := e.ec2.DescribeSubnets(t.Context(), &awsec2.DescribeSubnetsInput{Filters: []types.Filter{filter("vpc-id", vpcDemo), filter("availability-zone", "us-east-1b")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(subnets.Subnets) != 1 || aws.ToString(subnets.Subnets[0].SubnetId) != subnetB {
		t.Fatalf("subnets = %+v", subnets.Subnets)
	}
	// 256 addresses, 5 reserved, 3 used (node-b, its secondary, spare).
	if got := aws.ToInt32(subnets.Subnets[0].AvailableIpAddressCount); got != 248 {
		t.Errorf("AvailableIpAddressCount = %d, want 248", got)
	}
}

func TestDryRun(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	_, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{DryRun: aws.Bool(true), RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)})
	if got := code(t, err); got != "DryRunOperation" {
		t.Fatalf("dry run: code %q, want DryRunOperation", got)
	}
	if got := httpStatus(err); got != http.StatusPreconditionFailed {
		t.Errorf("dry run: HTTP %d, want 412", got)
	}
	if r := routeTo(t, e.ec2, rtbB, vip); aws.ToString(r.NetworkInterfaceId) != eniB {
		t.Errorf("dry run changed the route to %s", aws.ToString(r.NetworkInterfaceId))
	}
	// A caller whose role lacks the action learns so from a dry run.
	w := instanceClient(t, e.srv, witness)
	_, err = w.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{DryRun: aws.Bool(true), RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)})
	if got := code(t, err); got != "UnauthorizedOperation" {
		t.Fatalf("dry run without permission: code %q, want UnauthorizedOperation", got)
	}
}

func TestAuthorization(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	replace := func(c *awsec2.Client, table string) error {
		_, err := c.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(table), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniB)})
		return err
	}
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)}); err != nil {
		t.Fatal(err)
	}

	t.Run("role without ReplaceRoute is refused", func(t *testing.T) {
		err := replace(instanceClient(t, e.srv, witness), rtbB)
		if got := code(t, err); got != "UnauthorizedOperation" {
			t.Fatalf("code %q, want UnauthorizedOperation (err %v)", got, err)
		}
		if got := httpStatus(err); got != http.StatusForbidden {
			t.Errorf("HTTP %d, want 403", got)
		}
		if !strings.Contains(err.Error(), "Encoded authorization failure message") {
			t.Errorf("message lacks the encoded authorization message: %v", err)
		}
	})
	t.Run("role may describe", func(t *testing.T) {
		if _, err := instanceClient(t, e.srv, witness).DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("node role may replace", func(t *testing.T) {
		if err := replace(instanceClient(t, e.srv, nodeB), rtbA); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("resource-scoped role may replace in its table only", func(t *testing.T) {
		c := instanceClient(t, e.srv, multi)
		if err := replace(c, rtbA); err != nil {
			t.Errorf("in allowed table: %v", err)
		}
		if got := code(t, replace(c, rtbB)); got != "UnauthorizedOperation" {
			t.Errorf("in other table: code %q, want UnauthorizedOperation", got)
		}
	})
	t.Run("describe is not granted by a resource-scoped statement", func(t *testing.T) {
		// Describe actions support no resource-level permissions: a
		// statement naming a route table ARN does not allow them.
		_, err := instanceClient(t, e.srv, multi).DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{})
		if got := code(t, err); got != "UnauthorizedOperation" {
			t.Errorf("code %q, want UnauthorizedOperation", got)
		}
	})
	t.Run("wrong secret fails authentication", func(t *testing.T) {
		ak, _ := e.srv.AdminKey()
		cfg := vpcsimtest.AdminConfig(t, e.srv, config.WithRetryMaxAttempts(1))
		cfg.Credentials = aws.NewCredentialsCache(staticCreds{ak, "not-the-secret"})
		_, err := awsec2.NewFromConfig(cfg).DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{})
		if got := code(t, err); got != "AuthFailure" {
			t.Fatalf("code %q, want AuthFailure", got)
		}
	})
	t.Run("tampered body fails authentication", func(t *testing.T) {
		cfg := vpcsimtest.AdminConfig(t, e.srv, config.WithRetryMaxAttempts(1))
		c := awsec2.NewFromConfig(cfg, func(o *awsec2.Options) {
			o.HTTPClient = tamper{http.DefaultClient}
		})
		_, err := c.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{})
		if got := code(t, err); got != "AuthFailure" {
			t.Fatalf("code %q, want AuthFailure", got)
		}
	})
	t.Run("unknown access key fails authentication", func(t *testing.T) {
		cfg := vpcsimtest.AdminConfig(t, e.srv, config.WithRetryMaxAttempts(1))
		cfg.Credentials = aws.NewCredentialsCache(staticCreds{"AKIAUNKNOWN", "secret"})
		_, err := awsec2.NewFromConfig(cfg).DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{})
		if got := code(t, err); got != "AuthFailure" {
			t.Fatalf("code %q, want AuthFailure", got)
		}
		if got := httpStatus(err); got != http.StatusUnauthorized {
			t.Errorf("HTTP %d, want 401 as EC2 answers", got)
		}
	})
}

// tamper changes the signed body after signing.
type tamper struct{ c *http.Client }

func (t tamper) Do(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	b = bytes.Replace(b, []byte("DescribeVpcs"), []byte("DescribeVpcz"), 1)
	b = append(b, []byte("&DryRun=true")...)
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return t.c.Do(r)
}

type staticCreds struct{ ak, sk string }

func (s staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: s.ak, SecretAccessKey: s.sk, Source: "test"}, nil
}

// TestRouteInsideVPC: AWS accepts a route more specific than the local
// route only when its destination matches the entire CIDR block of a
// subnet of the VPC and its target is a network interface (NAT gateway or
// Gateway Load Balancer endpoint) — Amazon VPC User Guide, "Subnet route
// tables", rules and considerations ("more specific routing", August
// 2021). A /32 inside the VPC, what an overlay address in the VPC's CIDR
// would need, is refused, by CreateRoute and by ReplaceRoute alike (issue
// 21).
func TestRouteInsideVPC(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	create := func(dst string, target func(*awsec2.CreateRouteInput)) error {
		in := &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(dst)}
		target(in)
		_, err := e.ec2.CreateRoute(ctx, in)
		return err
	}
	toENI := func(in *awsec2.CreateRouteInput) { in.NetworkInterfaceId = aws.String(eniA) }
	toInstance := func(in *awsec2.CreateRouteInput) { in.InstanceId = aws.String(nodeA) }
	tests := []struct {
		name, dst string
		target    func(*awsec2.CreateRouteInput)
		code      string // "" = accepted
	}{
		{"a /32 inside the VPC to an interface", "10.0.2.77/32", toENI, "InvalidParameterValue"},
		{"a /32 inside the VPC to an instance", "10.0.1.99/32", toInstance, "InvalidParameterValue"},
		{"a block inside the VPC that is no subnet's", "10.0.4.0/24", toENI, "InvalidParameterValue"},
		{"part of a subnet", "10.0.2.0/25", toENI, "InvalidParameterValue"},
		{"a whole subnet of the VPC to an interface", "10.0.2.0/24", toENI, ""},
		{"a whole subnet of another VPC is outside this one", "172.16.1.0/24", toENI, ""},
		{"an address outside the VPC", "192.168.100.20/32", toENI, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := create(tt.dst, tt.target)
			if got := code(t, err); got != tt.code {
				t.Fatalf("CreateRoute %s: code %q, want %q (err %v)", tt.dst, got, tt.code, err)
			}
		})
	}
	// ReplaceRoute holds a route inside the VPC to the same rule: the
	// subnet route may move to another interface of the VPC.
	if _, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbA),
		DestinationCidrBlock: aws.String("10.0.2.0/24"), NetworkInterfaceId: aws.String(eniSpare)}); err != nil {
		t.Errorf("ReplaceRoute of the subnet route: %v", err)
	}
	if r := routeTo(t, e.ec2, rtbA, "10.0.2.77/32"); r != nil {
		t.Errorf("a refused route is in %s: %+v", rtbA, r)
	}
}
