package vpcsim_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// routeIn returns the route of table id whose destination (CIDR block or
// prefix list) is dst, failing the test when there is none.
func routeIn(t *testing.T, e env, id, dst string) types.Route {
	t.Helper()
	out, err := e.ec2.DescribeRouteTables(t.Context(), &awsec2.DescribeRouteTablesInput{RouteTableIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.RouteTables[0].Routes {
		if aws.ToString(r.DestinationCidrBlock) == dst || aws.ToString(r.DestinationIpv6CidrBlock) == dst || aws.ToString(r.DestinationPrefixListId) == dst {
			return r
		}
	}
	t.Fatalf("table %s has no route to %s: %+v", id, dst, out.RouteTables[0].Routes)
	return types.Route{}
}

func tablesFiltered(t *testing.T, e env, name, value string) []string {
	t.Helper()
	out, err := e.ec2.DescribeRouteTables(t.Context(), &awsec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: aws.String(name), Values: []string{value}}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, rt := range out.RouteTables {
		ids = append(ids, aws.ToString(rt.RouteTableId))
	}
	return ids
}

// TestNatGatewayRoutes checks NAT gateways as the EC2 API reference
// describes them (NatGateway, CreateNatGateway, CreateRoute):
//   - a public gateway in a VPC without an internet gateway is created but
//     fails: failureCode Gateway.NotAttached, failureMessage "Network
//     vpc-xxxxxxxx has no Internet gateway attached" (NatGateway);
//   - with one, it is pending, then available, with an interface of the
//     subnet that holds its Elastic IP (NatGatewayAddress);
//   - CreateRoute with NatGatewayId reports NatGatewayId, active, and
//     DescribeRouteTables filters by route.nat-gateway-id;
//   - DeleteNatGateway: deleting, then deleted (State: pending | failed |
//     available | deleting | deleted), the interface goes, the Elastic IP
//     is free and the route is a blackhole.
func TestNatGatewayRoutes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	alloc, err := e.ec2.AllocateAddress(ctx, &awsec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	failed, err := e.ec2.CreateNatGateway(ctx, &awsec2.CreateNatGatewayInput{SubnetId: aws.String(subnetA), AllocationId: alloc.AllocationId})
	if err != nil {
		t.Fatal(err)
	}
	if failed.NatGateway.State != types.NatGatewayStatePending {
		t.Fatalf("CreateNatGateway answered state %s, want pending", failed.NatGateway.State)
	}
	got := describeNat(t, e, aws.ToString(failed.NatGateway.NatGatewayId))
	if got.State != types.NatGatewayStateFailed || aws.ToString(got.FailureCode) != "Gateway.NotAttached" ||
		aws.ToString(got.FailureMessage) != "Network "+vpcDemo+" has no Internet gateway attached" {
		t.Fatalf("NAT gateway without internet gateway: %s %s %q", got.State, aws.ToString(got.FailureCode), aws.ToString(got.FailureMessage))
	}

	igw, err := e.ec2.CreateInternetGateway(ctx, &awsec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AttachInternetGateway(ctx, &awsec2.AttachInternetGatewayInput{VpcId: aws.String(vpcDemo), InternetGatewayId: igw.InternetGateway.InternetGatewayId}); err != nil {
		t.Fatal(err)
	}
	created, err := e.ec2.CreateNatGateway(ctx, &awsec2.CreateNatGatewayInput{SubnetId: aws.String(subnetA), AllocationId: alloc.AllocationId})
	if err != nil {
		t.Fatal(err)
	}
	nat := aws.ToString(created.NatGateway.NatGatewayId)
	got = describeNat(t, e, nat)
	if got.State != types.NatGatewayStateAvailable || len(got.NatGatewayAddresses) != 1 {
		t.Fatalf("NAT gateway: %+v", got)
	}
	a := got.NatGatewayAddresses[0]
	eni := aws.ToString(a.NetworkInterfaceId)
	addrs, err := e.ec2.DescribeAddresses(ctx, &awsec2.DescribeAddressesInput{AllocationIds: []string{aws.ToString(alloc.AllocationId)}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(addrs.Addresses[0].NetworkInterfaceId) != eni || aws.ToString(a.PublicIp) != aws.ToString(alloc.PublicIp) ||
		!strings.HasPrefix(aws.ToString(a.PrivateIp), "10.0.1.") {
		t.Fatalf("NAT address %+v, Elastic IP %+v", a, addrs.Addresses[0])
	}

	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(nat)}); err != nil {
		t.Fatal(err)
	}
	r := routeIn(t, e, rtbA, "0.0.0.0/0")
	if aws.ToString(r.NatGatewayId) != nat || r.GatewayId != nil || r.State != types.RouteStateActive {
		t.Fatalf("route to the NAT gateway: %+v", r)
	}
	if ids := tablesFiltered(t, e, "route.nat-gateway-id", nat); !slices.Equal(ids, []string{rtbA}) {
		t.Fatalf("route.nat-gateway-id found %v", ids)
	}
	_, err = e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbOther), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(nat)})
	if code(t, err) != "InvalidParameterValue" {
		t.Fatalf("route in another VPC's table to the NAT gateway: %v", err)
	}
	_, err = e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String("nat-0123456789abcdef0")})
	if code(t, err) != "NatGatewayNotFound" {
		t.Fatalf("route to an unknown NAT gateway: %v", err)
	}

	if _, err := e.ec2.DeleteNatGateway(ctx, &awsec2.DeleteNatGatewayInput{NatGatewayId: aws.String(nat)}); err != nil {
		t.Fatal(err)
	}
	if got = describeNat(t, e, nat); got.State != types.NatGatewayStateDeleted || got.DeleteTime == nil {
		t.Fatalf("deleted NAT gateway: %s", got.State)
	}
	if _, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}}); code(t, err) != "InvalidNetworkInterfaceID.NotFound" {
		t.Fatalf("the deleted NAT gateway's interface: %v", err)
	}
	if r := routeIn(t, e, rtbA, "0.0.0.0/0"); r.State != types.RouteStateBlackhole {
		t.Fatalf("route to a deleted NAT gateway is %s, want blackhole", r.State)
	}
	addrs, err = e.ec2.DescribeAddresses(ctx, &awsec2.DescribeAddressesInput{AllocationIds: []string{aws.ToString(alloc.AllocationId)}})
	if err != nil || addrs.Addresses[0].AssociationId != nil {
		t.Fatalf("Elastic IP after the NAT gateway's deletion: %+v %v", addrs.Addresses, err)
	}
}

func describeNat(t *testing.T, e env, id string) types.NatGateway {
	t.Helper()
	out, err := e.ec2.DescribeNatGateways(t.Context(), &awsec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.NatGateways) != 1 {
		t.Fatalf("DescribeNatGateways %s: %d gateways", id, len(out.NatGateways))
	}
	return out.NatGateways[0]
}

// TestVpcPeeringRoutes checks peering connections as the VPC Peering
// guide describes them: a request is pending-acceptance until accepted;
// a route to it "has a state of blackhole, and has no effect until the
// VPC peering connection is in the active state" ("Update your route
// tables for a VPC peering connection"); VPCs with overlapping blocks
// cannot be peered ("VPC peering limitations"), the request fails; a
// rejected or failed connection cannot be accepted (InvalidStateTransition,
// EC2 error codes); a deleted one makes its routes blackholes.
func TestVpcPeeringRoutes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	pcx, err := e.ec2.CreateVpcPeeringConnection(ctx, &awsec2.CreateVpcPeeringConnectionInput{VpcId: aws.String(vpcDemo), PeerVpcId: aws.String(vpcOther)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(pcx.VpcPeeringConnection.VpcPeeringConnectionId)
	if pcx.VpcPeeringConnection.Status.Code != types.VpcPeeringConnectionStateReasonCodePendingAcceptance ||
		aws.ToString(pcx.VpcPeeringConnection.RequesterVpcInfo.CidrBlock) != "10.0.0.0/16" {
		t.Fatalf("CreateVpcPeeringConnection: %+v", pcx.VpcPeeringConnection)
	}
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String("172.16.0.0/16"), VpcPeeringConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if r := routeIn(t, e, rtbA, "172.16.0.0/16"); aws.ToString(r.VpcPeeringConnectionId) != id || r.State != types.RouteStateBlackhole {
		t.Fatalf("route to a pending connection: %+v", r)
	}
	if _, err := e.ec2.AcceptVpcPeeringConnection(ctx, &awsec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if r := routeIn(t, e, rtbA, "172.16.0.0/16"); r.State != types.RouteStateActive {
		t.Fatalf("route to an active connection is %s", r.State)
	}
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbOther), DestinationCidrBlock: aws.String("10.0.0.0/16"), VpcPeeringConnectionId: aws.String(id)}); err != nil {
		t.Fatalf("route back from the accepter's table: %v", err)
	}
	if ids := tablesFiltered(t, e, "route.vpc-peering-connection-id", id); len(ids) != 2 {
		t.Fatalf("route.vpc-peering-connection-id found %v", ids)
	}
	d, err := e.ec2.DescribeVpcPeeringConnections(ctx, &awsec2.DescribeVpcPeeringConnectionsInput{Filters: []types.Filter{{Name: aws.String("status-code"), Values: []string{"active"}}}})
	if err != nil || len(d.VpcPeeringConnections) != 1 || aws.ToString(d.VpcPeeringConnections[0].AccepterVpcInfo.CidrBlock) != "172.16.0.0/16" {
		t.Fatalf("DescribeVpcPeeringConnections active: %+v %v", d, err)
	}
	if _, err := e.ec2.DeleteVpcPeeringConnection(ctx, &awsec2.DeleteVpcPeeringConnectionInput{VpcPeeringConnectionId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if r := routeIn(t, e, rtbA, "172.16.0.0/16"); r.State != types.RouteStateBlackhole {
		t.Fatalf("route to a deleted connection is %s", r.State)
	}

	vpc, err := e.ec2.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	over, err := e.ec2.CreateVpcPeeringConnection(ctx, &awsec2.CreateVpcPeeringConnectionInput{VpcId: aws.String(vpcDemo), PeerVpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	if over.VpcPeeringConnection.Status.Code != types.VpcPeeringConnectionStateReasonCodeFailed {
		t.Fatalf("peering overlapping VPCs: %s", over.VpcPeeringConnection.Status.Code)
	}
	_, err = e.ec2.AcceptVpcPeeringConnection(ctx, &awsec2.AcceptVpcPeeringConnectionInput{VpcPeeringConnectionId: over.VpcPeeringConnection.VpcPeeringConnectionId})
	if code(t, err) != "InvalidStateTransition" {
		t.Fatalf("accepting a failed connection: %v", err)
	}
}

// TestEgressOnlyGatewayRoutes: "An egress-only internet gateway is for
// use with IPv6 traffic only" (VPC user guide, "Enable outbound IPv6
// traffic using an egress-only internet gateway"): a route to it takes an
// IPv6 destination and reports EgressOnlyInternetGatewayId; DeleteVpc
// refuses a VPC that still has one (DependencyViolation).
func TestEgressOnlyGatewayRoutes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	vpc, err := e.ec2.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vid := vpc.Vpc.VpcId
	g, err := e.ec2.CreateEgressOnlyInternetGateway(ctx, &awsec2.CreateEgressOnlyInternetGatewayInput{VpcId: vid})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(g.EgressOnlyInternetGateway.EgressOnlyInternetGatewayId)
	if att := g.EgressOnlyInternetGateway.Attachments; len(att) != 1 || aws.ToString(att[0].VpcId) != aws.ToString(vid) || att[0].State != types.AttachmentStatusAttached {
		t.Fatalf("attachments %+v", att)
	}
	rt, err := e.ec2.CreateRouteTable(ctx, &awsec2.CreateRouteTableInput{VpcId: vid})
	if err != nil {
		t.Fatal(err)
	}
	tid := aws.ToString(rt.RouteTable.RouteTableId)
	_, err = e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(tid), DestinationCidrBlock: aws.String("0.0.0.0/0"), EgressOnlyInternetGatewayId: aws.String(id)})
	if code(t, err) != "InvalidParameterValue" {
		t.Fatalf("IPv4 route to an egress-only gateway: %v", err)
	}
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(tid), DestinationIpv6CidrBlock: aws.String("::/0"), EgressOnlyInternetGatewayId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if r := routeIn(t, e, tid, "::/0"); aws.ToString(r.EgressOnlyInternetGatewayId) != id || r.State != types.RouteStateActive {
		t.Fatalf("route %+v", r)
	}
	if ids := tablesFiltered(t, e, "route.egress-only-internet-gateway-id", id); !slices.Equal(ids, []string{tid}) {
		t.Fatalf("filter found %v", ids)
	}
	if _, err := e.ec2.DeleteRouteTable(ctx, &awsec2.DeleteRouteTableInput{RouteTableId: aws.String(tid)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteVpc(ctx, &awsec2.DeleteVpcInput{VpcId: vid}); code(t, err) != "DependencyViolation" {
		t.Fatalf("DeleteVpc with an egress-only gateway: %v", err)
	}
	if _, err := e.ec2.DeleteEgressOnlyInternetGateway(ctx, &awsec2.DeleteEgressOnlyInternetGatewayInput{EgressOnlyInternetGatewayId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteVpc(ctx, &awsec2.DeleteVpcInput{VpcId: vid}); err != nil {
		t.Fatal(err)
	}
}

// TestDhcpOptions: a VPC uses the region's default options set (domain
// name ec2.internal in us-east-1, AmazonProvidedDNS; VPC user guide, "DHCP
// option sets concepts") until AssociateDhcpOptions gives it another or
// none ("default", API reference AssociateDhcpOptions); DescribeVpcs
// filters by dhcp-options-id; a set in use cannot be deleted
// (DependencyViolation; DeleteDhcpOptions: "You must disassociate the set
// of DHCP options before you can delete it").
func TestDhcpOptions(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	all, err := e.ec2.DescribeDhcpOptions(ctx, &awsec2.DescribeDhcpOptionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.DhcpOptions) != 1 || dhcpValue(all.DhcpOptions[0], "domain-name") != "ec2.internal" || dhcpValue(all.DhcpOptions[0], "domain-name-servers") != "AmazonProvidedDNS" {
		t.Fatalf("default set %+v", all.DhcpOptions)
	}
	def := aws.ToString(all.DhcpOptions[0].DhcpOptionsId)
	if got := vpcDhcp(t, e, vpcDemo); got != def {
		t.Fatalf("VPC's options %s, want the default %s", got, def)
	}
	_, err = e.ec2.CreateDhcpOptions(ctx, &awsec2.CreateDhcpOptionsInput{DhcpConfigurations: []types.NewDhcpConfiguration{{Key: aws.String("domain-name-servers"), Values: []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}}}})
	if code(t, err) != "InvalidParameterValue" {
		t.Fatalf("five name servers: %v", err)
	}
	d, err := e.ec2.CreateDhcpOptions(ctx, &awsec2.CreateDhcpOptionsInput{DhcpConfigurations: []types.NewDhcpConfiguration{
		{Key: aws.String("domain-name"), Values: []string{"corp.example"}}, {Key: aws.String("domain-name-servers"), Values: []string{"10.0.0.2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(d.DhcpOptions.DhcpOptionsId)
	for _, v := range []string{vpcDemo, vpcOther} {
		if _, err := e.ec2.AssociateDhcpOptions(ctx, &awsec2.AssociateDhcpOptionsInput{DhcpOptionsId: aws.String(id), VpcId: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	vpcs, err := e.ec2.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("dhcp-options-id"), Values: []string{id}}}})
	if err != nil || len(vpcs.Vpcs) != 2 {
		t.Fatalf("VPCs by dhcp-options-id: %+v %v", vpcs, err)
	}
	if _, err := e.ec2.DeleteDhcpOptions(ctx, &awsec2.DeleteDhcpOptionsInput{DhcpOptionsId: aws.String(id)}); code(t, err) != "DependencyViolation" {
		t.Fatalf("deleting a set in use: %v", err)
	}
	for _, v := range []string{vpcDemo, vpcOther} {
		if _, err := e.ec2.AssociateDhcpOptions(ctx, &awsec2.AssociateDhcpOptionsInput{DhcpOptionsId: aws.String("default"), VpcId: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := vpcDhcp(t, e, vpcDemo); got != "default" {
		t.Fatalf("VPC with no options reports %s", got)
	}
	if _, err := e.ec2.DeleteDhcpOptions(ctx, &awsec2.DeleteDhcpOptionsInput{DhcpOptionsId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DescribeDhcpOptions(ctx, &awsec2.DescribeDhcpOptionsInput{DhcpOptionsIds: []string{id}}); code(t, err) != "InvalidDhcpOptionID.NotFound" {
		t.Fatalf("deleted set: %v", err)
	}
}

func dhcpValue(d types.DhcpOptions, key string) string {
	for _, c := range d.DhcpConfigurations {
		if aws.ToString(c.Key) == key && len(c.Values) > 0 {
			return aws.ToString(c.Values[0].Value)
		}
	}
	return ""
}

func vpcDhcp(t *testing.T, e env, id string) string {
	t.Helper()
	out, err := e.ec2.DescribeVpcs(t.Context(), &awsec2.DescribeVpcsInput{VpcIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Vpcs[0].DhcpOptionsId)
}

// TestGatewayEndpointAndPrefixLists checks a gateway endpoint and the
// prefix lists its routes point at:
//   - DescribePrefixLists and DescribeManagedPrefixLists list the
//     AWS-managed com.amazonaws.REGION.s3 and .dynamodb, owned by AWS;
//   - CreateVpcEndpoint (Gateway, the default type) "adds a route ... with
//     the prefix list ID of the service as the destination and the
//     endpoint ID as the target" to each table (AWS PrivateLink guide,
//     "Gateway endpoints", Routing); a second endpoint to the same service
//     in that table is refused ("you can't have multiple endpoint routes
//     to the same service in a single route table", same page); the
//     default policy allows all (CreateVpcEndpoint, PolicyDocument);
//   - an unknown service is InvalidServiceName, an interface-only service
//     as Gateway is InvalidParameter "Endpoint type (Gateway) does not
//     match available service types ([Interface])." (EC2's answer quoted
//     in hashicorp/terraform#24478), and Gateway with SubnetId too;
//   - ModifyVpcEndpoint moves the route between tables; DeleteVpcEndpoints
//     removes it, reports unknown IDs in Unsuccessful, and the endpoint is
//     deleted;
//   - a customer-managed list (CreateManagedPrefixList, AddressFamily
//     IPv4 or IPv6, a name not starting with com.amazonaws) is a route
//     destination (CreateRoute DestinationPrefixListId) and its deletion
//     fails (delete-failed) while a route names it.
func TestGatewayEndpointAndPrefixLists(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	old, err := e.ec2.DescribePrefixLists(ctx, &awsec2.DescribePrefixListsInput{Filters: []types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{"com.amazonaws.us-east-1.s3"}}}})
	if err != nil || len(old.PrefixLists) != 1 || len(old.PrefixLists[0].Cidrs) == 0 {
		t.Fatalf("DescribePrefixLists s3: %+v %v", old, err)
	}
	pl := aws.ToString(old.PrefixLists[0].PrefixListId)
	managed, err := e.ec2.DescribeManagedPrefixLists(ctx, &awsec2.DescribeManagedPrefixListsInput{Filters: []types.Filter{{Name: aws.String("owner-id"), Values: []string{"AWS"}}}})
	if err != nil || len(managed.PrefixLists) != 2 {
		t.Fatalf("AWS-managed lists: %+v %v", managed, err)
	}

	ep, err := e.ec2.CreateVpcEndpoint(ctx, &awsec2.CreateVpcEndpointInput{VpcId: aws.String(vpcDemo), ServiceName: aws.String("com.amazonaws.us-east-1.s3"), RouteTableIds: []string{rtbA}})
	if err != nil {
		t.Fatal(err)
	}
	vpce := aws.ToString(ep.VpcEndpoint.VpcEndpointId)
	if ep.VpcEndpoint.VpcEndpointType != types.VpcEndpointTypeGateway || ep.VpcEndpoint.State != "available" ||
		aws.ToBool(ep.VpcEndpoint.PrivateDnsEnabled) || !strings.Contains(aws.ToString(ep.VpcEndpoint.PolicyDocument), `"Effect":"Allow"`) {
		t.Fatalf("gateway endpoint %+v", ep.VpcEndpoint)
	}
	if r := routeIn(t, e, rtbA, pl); aws.ToString(r.GatewayId) != vpce || r.State != types.RouteStateActive {
		t.Fatalf("endpoint route %+v", r)
	}
	_, err = e.ec2.CreateVpcEndpoint(ctx, &awsec2.CreateVpcEndpointInput{VpcId: aws.String(vpcDemo), ServiceName: aws.String("com.amazonaws.us-east-1.s3"), RouteTableIds: []string{rtbA}})
	if code(t, err) != "RouteAlreadyExists" {
		t.Fatalf("second s3 endpoint in the table: %v", err)
	}
	for _, c := range []struct {
		in   awsec2.CreateVpcEndpointInput
		want string
	}{
		{awsec2.CreateVpcEndpointInput{ServiceName: aws.String("com.tester.my-test-endpoint")}, "InvalidServiceName"},
		{awsec2.CreateVpcEndpointInput{ServiceName: aws.String("com.amazonaws.us-west-2.s3")}, "InvalidServiceName"},
		{awsec2.CreateVpcEndpointInput{ServiceName: aws.String("com.amazonaws.us-east-1.ec2")}, "InvalidParameter"},
		{awsec2.CreateVpcEndpointInput{ServiceName: aws.String("com.amazonaws.us-east-1.s3"), SubnetIds: []string{subnetA}}, "InvalidParameter"},
	} {
		c.in.VpcId = aws.String(vpcDemo)
		if _, err := e.ec2.CreateVpcEndpoint(ctx, &c.in); code(t, err) != c.want {
			t.Errorf("CreateVpcEndpoint %s subnets %v: %v, want %s", aws.ToString(c.in.ServiceName), c.in.SubnetIds, err, c.want)
		}
	}
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &awsec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(vpce), AddRouteTableIds: []string{rtbB}, RemoveRouteTableIds: []string{rtbA}}); err != nil {
		t.Fatal(err)
	}
	if r := routeIn(t, e, rtbB, pl); aws.ToString(r.GatewayId) != vpce {
		t.Fatalf("route after ModifyVpcEndpoint %+v", r)
	}
	if ids := tablesFiltered(t, e, "route.destination-prefix-list-id", pl); !slices.Equal(ids, []string{rtbB}) {
		t.Fatalf("tables routing to %s: %v", pl, ids)
	}
	del, err := e.ec2.DeleteVpcEndpoints(ctx, &awsec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{vpce, "vpce-0123456789abcdef0"}})
	if err != nil || len(del.Unsuccessful) != 1 || aws.ToString(del.Unsuccessful[0].ResourceId) != "vpce-0123456789abcdef0" {
		t.Fatalf("DeleteVpcEndpoints: %+v %v", del, err)
	}
	if ids := tablesFiltered(t, e, "route.destination-prefix-list-id", pl); len(ids) != 0 {
		t.Fatalf("the deleted endpoint's route is still in %v", ids)
	}
	d, err := e.ec2.DescribeVpcEndpoints(ctx, &awsec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{vpce}})
	if err != nil || d.VpcEndpoints[0].State != "deleted" {
		t.Fatalf("deleted endpoint: %+v %v", d, err)
	}

	_, err = e.ec2.CreateManagedPrefixList(ctx, &awsec2.CreateManagedPrefixListInput{PrefixListName: aws.String("office"), MaxEntries: aws.Int32(2), AddressFamily: aws.String("?")})
	if code(t, err) != "InvalidParameterValue" {
		t.Fatalf("AddressFamily ?: %v", err)
	}
	mine, err := e.ec2.CreateManagedPrefixList(ctx, &awsec2.CreateManagedPrefixListInput{PrefixListName: aws.String("office"), MaxEntries: aws.Int32(2), AddressFamily: aws.String("IPv4"),
		Entries: []types.AddPrefixListEntry{{Cidr: aws.String("198.18.0.0/15"), Description: aws.String("lab")}}})
	if err != nil {
		t.Fatal(err)
	}
	mid := aws.ToString(mine.PrefixList.PrefixListId)
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationPrefixListId: aws.String(mid), InstanceId: aws.String(nodeA)}); err != nil {
		t.Fatal(err)
	}
	if r := routeIn(t, e, rtbA, mid); aws.ToString(r.NetworkInterfaceId) != eniA || r.DestinationCidrBlock != nil {
		t.Fatalf("prefix-list route %+v", r)
	}
	if _, err := e.ec2.DeleteManagedPrefixList(ctx, &awsec2.DeleteManagedPrefixListInput{PrefixListId: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	got, err := e.ec2.DescribeManagedPrefixLists(ctx, &awsec2.DescribeManagedPrefixListsInput{PrefixListIds: []string{mid}})
	if err != nil || got.PrefixLists[0].State != types.PrefixListStateDeleteFailed {
		t.Fatalf("deleting a list a route names: %+v %v", got, err)
	}
	if _, err := e.ec2.DeleteRoute(ctx, &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbA), DestinationPrefixListId: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
}

// TestInterfaceEndpoint: an interface endpoint has a network interface in
// each subnet, one subnet per zone ("You can specify only one subnet per
// Availability Zone"), the VPC's default security group when given none,
// and private DNS by default, which "requires both enableDnsSupport and
// enableDnsHostnames" of the VPC (API reference, CreateVpcEndpoint);
// route tables are for gateway endpoints only ("Route table IDs are only
// supported for Gateway type VPC Endpoint.", quoted in
// ansible-collections/amazon.aws#576). It is pending, then available.
func TestInterfaceEndpoint(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	in := &awsec2.CreateVpcEndpointInput{VpcId: aws.String(vpcDemo), ServiceName: aws.String("com.amazonaws.us-east-1.ssm"),
		VpcEndpointType: types.VpcEndpointTypeInterface, SubnetIds: []string{subnetA}}
	if _, err := e.ec2.CreateVpcEndpoint(ctx, in); code(t, err) != "InvalidParameter" {
		t.Fatalf("private DNS without enableDnsHostnames: %v", err)
	}
	if _, err := e.ec2.ModifyVpcAttribute(ctx, &awsec2.ModifyVpcAttributeInput{VpcId: aws.String(vpcDemo), EnableDnsHostnames: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	in.RouteTableIds = []string{rtbA}
	if _, err := e.ec2.CreateVpcEndpoint(ctx, in); code(t, err) != "InvalidParameter" {
		t.Fatalf("interface endpoint with a route table: %v", err)
	}
	in.RouteTableIds = nil
	ep, err := e.ec2.CreateVpcEndpoint(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	x := ep.VpcEndpoint
	id := aws.ToString(x.VpcEndpointId)
	if x.State != "pending" || !aws.ToBool(x.PrivateDnsEnabled) || len(x.NetworkInterfaceIds) != 1 || len(x.Groups) != 1 ||
		aws.ToString(x.Groups[0].GroupName) != "default" || len(x.DnsEntries) < 2 {
		t.Fatalf("interface endpoint %+v", x)
	}
	enis, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: x.NetworkInterfaceIds})
	if err != nil || aws.ToString(enis.NetworkInterfaces[0].SubnetId) != subnetA {
		t.Fatalf("endpoint interface %+v %v", enis, err)
	}
	sn, err := e.ec2.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: aws.String(vpcDemo), CidrBlock: aws.String("10.0.9.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.ModifyVpcEndpoint(ctx, &awsec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(id), AddSubnetIds: []string{aws.ToString(sn.Subnet.SubnetId)}})
	if code(t, err) != "InvalidParameter" {
		t.Fatalf("a second subnet in us-east-1a: %v", err)
	}
	if _, err := e.ec2.ModifyVpcEndpoint(ctx, &awsec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(id), AddSubnetIds: []string{subnetB}, RemoveSubnetIds: []string{subnetA}}); err != nil {
		t.Fatal(err)
	}
	d, err := e.ec2.DescribeVpcEndpoints(ctx, &awsec2.DescribeVpcEndpointsInput{Filters: []types.Filter{{Name: aws.String("vpc-endpoint-type"), Values: []string{"Interface"}}}})
	if err != nil || len(d.VpcEndpoints) != 1 || d.VpcEndpoints[0].State != "available" || !slices.Equal(d.VpcEndpoints[0].SubnetIds, []string{subnetB}) {
		t.Fatalf("after ModifyVpcEndpoint: %+v %v", d, err)
	}
	if _, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: x.NetworkInterfaceIds}); code(t, err) != "InvalidNetworkInterfaceID.NotFound" {
		t.Fatalf("the removed subnet's interface: %v", err)
	}
	svc, err := e.ec2.DescribeVpcEndpointServices(ctx, &awsec2.DescribeVpcEndpointServicesInput{Filters: []types.Filter{{Name: aws.String("service-type"), Values: []string{"Gateway"}}}})
	if err != nil || !slices.Equal(svc.ServiceNames, []string{"com.amazonaws.us-east-1.dynamodb", "com.amazonaws.us-east-1.s3"}) {
		t.Fatalf("gateway services %+v %v", svc, err)
	}
}

// TestClassicLinkRetired: AWS shut EC2-Classic down on August 15, 2023
// ("Farewell EC2-Classic, it's been swell", All Things Distributed) and the
// API reference marks the ClassicLink actions deprecated; no VPC can be
// enabled for ClassicLink, and vpcsim answers UnsupportedOperation.
func TestClassicLinkRetired(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.ec2.EnableVpcClassicLink(ctx, &awsec2.EnableVpcClassicLinkInput{VpcId: aws.String(vpcDemo)})
	if code(t, err) != "UnsupportedOperation" {
		t.Fatalf("EnableVpcClassicLink: %v", err)
	}
	_, err = e.ec2.DescribeVpcClassicLinkDnsSupport(ctx, &awsec2.DescribeVpcClassicLinkDnsSupportInput{VpcIds: []string{vpcDemo}})
	if code(t, err) != "UnsupportedOperation" {
		t.Fatalf("DescribeVpcClassicLinkDnsSupport: %v", err)
	}
}

// TestSecurityGroupRuleChanges: UpdateSecurityGroupRuleDescriptionsIngress
// replaces the descriptions of the rules its permissions name and leaves
// the others ("You can replace an existing description, or add a
// description to a rule that did not have one previously", API
// reference); a permission the group lacks is InvalidPermission.NotFound.
// ModifySecurityGroupRules replaces a rule, which keeps its ID (API
// reference, ModifySecurityGroupRules, SecurityGroupRuleRequest); an
// unknown group is InvalidGroup.NotFound.
func TestSecurityGroupRuleChanges(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	sg, err := e.ec2.CreateSecurityGroup(ctx, &awsec2.CreateSecurityGroupInput{GroupName: aws.String("db"), Description: aws.String("db"), VpcId: aws.String(vpcDemo)})
	if err != nil {
		t.Fatal(err)
	}
	gid := sg.GroupId
	perm := func(desc ...string) []types.IpPermission {
		p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432)}
		for i, d := range desc {
			p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String("10.0." + string(rune('1'+i)) + ".0/24"), Description: aws.String(d)})
		}
		return []types.IpPermission{p}
	}
	auth, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &awsec2.AuthorizeSecurityGroupIngressInput{GroupId: gid, IpPermissions: perm("a", "b")})
	if err != nil {
		t.Fatal(err)
	}
	p := perm("new")
	if _, err := e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &awsec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: gid, IpPermissions: p}); err != nil {
		t.Fatal(err)
	}
	d, err := e.ec2.DescribeSecurityGroups(ctx, &awsec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(gid)}})
	if err != nil {
		t.Fatal(err)
	}
	r := d.SecurityGroups[0].IpPermissions[0].IpRanges
	if len(r) != 2 || aws.ToString(r[0].Description) != "new" || aws.ToString(r[1].Description) != "b" {
		t.Fatalf("ranges after the update: %+v", r)
	}
	p[0].FromPort, p[0].ToPort = aws.Int32(22), aws.Int32(22)
	_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &awsec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: gid, IpPermissions: p})
	if code(t, err) != "InvalidPermission.NotFound" {
		t.Fatalf("updating a rule the group lacks: %v", err)
	}

	id := auth.SecurityGroupRules[0].SecurityGroupRuleId
	in := &awsec2.ModifySecurityGroupRulesInput{GroupId: gid, SecurityGroupRules: []types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: id,
		SecurityGroupRule: &types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6432), ToPort: aws.Int32(6432), ReferencedGroupId: gid}}}}
	if _, err := e.ec2.ModifySecurityGroupRules(ctx, in); err != nil {
		t.Fatal(err)
	}
	rules, err := e.ec2.DescribeSecurityGroupRules(ctx, &awsec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{aws.ToString(id)}})
	if err != nil {
		t.Fatal(err)
	}
	if x := rules.SecurityGroupRules[0]; aws.ToInt32(x.FromPort) != 6432 || x.ReferencedGroupInfo == nil || aws.ToString(x.ReferencedGroupInfo.GroupId) != aws.ToString(gid) || x.CidrIpv4 != nil {
		t.Fatalf("modified rule %+v", x)
	}
	in.GroupId = aws.String("sg-00000000")
	if _, err := e.ec2.ModifySecurityGroupRules(ctx, in); code(t, err) != "InvalidGroup.NotFound" {
		t.Fatalf("ModifySecurityGroupRules of an unknown group: %v", err)
	}
}

// TestSubnetCidrReservations: a subnet CIDR reservation sets a block of
// the subnet aside, so that EC2 does not pick its addresses for an
// interface (VPC user guide, "Subnet CIDR reservations"); an address of
// an explicit reservation can still be asked for. A block outside the
// subnet or overlapping another reservation is InvalidParameterValue
// (API reference, CreateSubnetCidrReservation); GetSubnetCidrReservations
// lists IPv4 and IPv6 reservations apart; DeleteSubnetCidrReservation of
// an unknown ID is InvalidSubnetCidrReservationID.NotFound.
func TestSubnetCidrReservations(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	res, err := e.ec2.CreateSubnetCidrReservation(ctx, &awsec2.CreateSubnetCidrReservationInput{SubnetId: aws.String(subnetA), Cidr: aws.String("10.0.1.0/29"), ReservationType: types.SubnetCidrReservationTypeExplicit})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"10.0.2.0/29", "10.0.1.4/30"} {
		_, err := e.ec2.CreateSubnetCidrReservation(ctx, &awsec2.CreateSubnetCidrReservationInput{SubnetId: aws.String(subnetA), Cidr: aws.String(c), ReservationType: types.SubnetCidrReservationTypePrefix})
		if code(t, err) != "InvalidParameterValue" {
			t.Errorf("reservation %s: %v", c, err)
		}
	}
	eni, err := e.ec2.CreateNetworkInterface(ctx, &awsec2.CreateNetworkInterfaceInput{SubnetId: aws.String(subnetA)})
	if err != nil {
		t.Fatal(err)
	}
	if ip := aws.ToString(eni.NetworkInterface.PrivateIpAddress); ip != "10.0.1.8" {
		t.Fatalf("EC2 picked %s, want 10.0.1.8, the first address after the reservation", ip)
	}
	if _, err := e.ec2.CreateNetworkInterface(ctx, &awsec2.CreateNetworkInterfaceInput{SubnetId: aws.String(subnetA), PrivateIpAddress: aws.String("10.0.1.5")}); err != nil {
		t.Fatalf("asking for an address of an explicit reservation: %v", err)
	}
	got, err := e.ec2.GetSubnetCidrReservations(ctx, &awsec2.GetSubnetCidrReservationsInput{SubnetId: aws.String(subnetA)})
	if err != nil || len(got.SubnetIpv4CidrReservations) != 1 || len(got.SubnetIpv6CidrReservations) != 0 {
		t.Fatalf("GetSubnetCidrReservations: %+v %v", got, err)
	}
	id := res.SubnetCidrReservation.SubnetCidrReservationId
	if _, err := e.ec2.DeleteSubnetCidrReservation(ctx, &awsec2.DeleteSubnetCidrReservationInput{SubnetCidrReservationId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.DeleteSubnetCidrReservation(ctx, &awsec2.DeleteSubnetCidrReservationInput{SubnetCidrReservationId: id}); code(t, err) != "InvalidSubnetCidrReservationID.NotFound" {
		t.Fatalf("deleting it again: %v", err)
	}
}

// TestCreateDefaultVpcAndSubnet: a region has at most one default VPC
// (CreateDefaultVpc answers DefaultVpcAlreadyExists); CreateDefaultSubnet
// creates "a default subnet with a size /20 IPv4 CIDR block in the
// specified Availability Zone in your default VPC. You can have only one
// default subnet per Availability Zone" (API reference), so it refuses a
// zone that has one (DefaultSubnetAlreadyExistsInAvailabilityZone) and,
// once that subnet is gone, makes another in the VPC's lowest free /20.
func TestCreateDefaultVpcAndSubnet(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1)))
	ctx := t.Context()
	if _, err := c.CreateDefaultVpc(ctx, &awsec2.CreateDefaultVpcInput{}); code(t, err) != "DefaultVpcAlreadyExists" {
		t.Fatalf("a second default VPC: %v", err)
	}
	subs, err := c.DescribeSubnets(ctx, &awsec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("default-for-az"), Values: []string{"true"}}}})
	if err != nil || len(subs.Subnets) == 0 {
		t.Fatalf("default subnets %+v %v", subs, err)
	}
	first := subs.Subnets[0]
	az := aws.ToString(first.AvailabilityZone)
	if _, err := c.CreateDefaultSubnet(ctx, &awsec2.CreateDefaultSubnetInput{AvailabilityZone: aws.String(az)}); code(t, err) != "DefaultSubnetAlreadyExistsInAvailabilityZone" {
		t.Fatalf("a second default subnet in %s: %v", az, err)
	}
	if _, err := c.DeleteSubnet(ctx, &awsec2.DeleteSubnetInput{SubnetId: first.SubnetId}); err != nil {
		t.Fatal(err)
	}
	sn, err := c.CreateDefaultSubnet(ctx, &awsec2.CreateDefaultSubnetInput{AvailabilityZone: aws.String(az)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(sn.Subnet.CidrBlock) != aws.ToString(first.CidrBlock) || !aws.ToBool(sn.Subnet.DefaultForAz) || aws.ToString(sn.Subnet.VpcId) != aws.ToString(first.VpcId) {
		t.Fatalf("new default subnet %+v, the old one had %s", sn.Subnet, aws.ToString(first.CidrBlock))
	}
}

// TestGatewayRouteTable follows the VPC user guide, "Gateway route
// tables": a route table associated with an internet gateway (of its
// VPC) reports the association's GatewayId; its routes target only local
// or a network interface, for "the entire IPv4 or IPv6 CIDR block of a
// subnet in your VPC"; a table with another route cannot be associated
// ("Rules and considerations"); a gateway has one such association.
func TestGatewayRouteTable(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	igw, err := e.ec2.CreateInternetGateway(ctx, &awsec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	gw := igw.InternetGateway.InternetGatewayId
	rt, err := e.ec2.CreateRouteTable(ctx, &awsec2.CreateRouteTableInput{VpcId: aws.String(vpcDemo)})
	if err != nil {
		t.Fatal(err)
	}
	tid := rt.RouteTable.RouteTableId
	if _, err := e.ec2.AssociateRouteTable(ctx, &awsec2.AssociateRouteTableInput{RouteTableId: tid, GatewayId: gw}); code(t, err) != "InvalidParameterValue" {
		t.Fatalf("associating a gateway not attached to the VPC: %v", err)
	}
	if _, err := e.ec2.AttachInternetGateway(ctx, &awsec2.AttachInternetGatewayInput{VpcId: aws.String(vpcDemo), InternetGatewayId: gw}); err != nil {
		t.Fatal(err)
	}
	// rt-b routes the VIP /32 to node b: not a subnet's block.
	if _, err := e.ec2.AssociateRouteTable(ctx, &awsec2.AssociateRouteTableInput{RouteTableId: aws.String(rtbB), GatewayId: gw}); code(t, err) != "InvalidParameterValue" {
		t.Fatalf("associating a table with a /32 route: %v", err)
	}
	a, err := e.ec2.AssociateRouteTable(ctx, &awsec2.AssociateRouteTableInput{RouteTableId: tid, GatewayId: gw})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{Filters: []types.Filter{{Name: aws.String("association.gateway-id"), Values: []string{aws.ToString(gw)}}}})
	if err != nil || len(out.RouteTables) != 1 {
		t.Fatalf("tables by association.gateway-id: %+v %v", out, err)
	}
	as := out.RouteTables[0].Associations
	if len(as) != 1 || aws.ToString(as[0].GatewayId) != aws.ToString(gw) || as[0].SubnetId != nil || aws.ToString(as[0].RouteTableAssociationId) != aws.ToString(a.AssociationId) {
		t.Fatalf("edge association %+v", as)
	}
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: tid, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: gw}); code(t, err) != "InvalidParameterValue" {
		t.Fatalf("a gateway route table's route to the internet gateway: %v", err)
	}
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: tid, DestinationCidrBlock: aws.String("10.0.1.0/24"), NetworkInterfaceId: aws.String(eniB)}); err != nil {
		t.Fatalf("a gateway route table's route to a subnet through an appliance: %v", err)
	}
	other, err := e.ec2.CreateRouteTable(ctx, &awsec2.CreateRouteTableInput{VpcId: aws.String(vpcDemo)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AssociateRouteTable(ctx, &awsec2.AssociateRouteTableInput{RouteTableId: other.RouteTable.RouteTableId, GatewayId: gw}); code(t, err) != "Resource.AlreadyAssociated" {
		t.Fatalf("a second table for the gateway: %v", err)
	}
	if _, err := e.ec2.DisassociateRouteTable(ctx, &awsec2.DisassociateRouteTableInput{AssociationId: a.AssociationId}); err != nil {
		t.Fatal(err)
	}
}
