package vpcsim_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/simclient"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestIPv6 walks vpcsim's IPv6 model with the SDK, as the EC2 API
// reference describes it:
//   - AssociateVpcCidrBlock with AmazonProvidedIpv6CidrBlock gives a VPC
//     "an Amazon-provided IPv6 CIDR block with a /56 prefix length", one
//     "per network border group"; DescribeVpcs lists it in
//     Ipv6CidrBlockAssociationSet and every route table of the VPC gets
//     its local route.
//   - AssociateSubnetCidrBlock gives a subnet one /64 of it.
//   - AssignIpv6Addresses assigns "specific IPv6 addresses, or ... the
//     number of IPv6 addresses to be automatically assigned from the
//     subnet's IPv6 CIDR block range", "either ... or", and answers the
//     new ones only ("Existing IPv6 addresses ... are not included"). It
//     has no AllowReassignment parameter, unlike AssignPrivateIpAddresses:
//     an address another interface holds is refused, and moves by
//     UnassignIpv6Addresses first.
//   - CreateRoute, ReplaceRoute and DeleteRoute take
//     DestinationIpv6CidrBlock; DescribeRouteTables answers it and filters
//     by route.destination-ipv6-cidr-block.
func TestIPv6(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	mustCode := func(t *testing.T, err error, want string) {
		t.Helper()
		if got := code(t, err); got != want {
			t.Fatalf("code %q, want %s (err %v)", got, want, err)
		}
	}

	// The VPC's /56.
	av, err := e.ec2.AssociateVpcCidrBlock(ctx, &awsec2.AssociateVpcCidrBlockInput{VpcId: aws.String(vpcDemo), AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	block := netip.MustParsePrefix(aws.ToString(av.Ipv6CidrBlockAssociation.Ipv6CidrBlock))
	if block.Bits() != 56 || !netip.MustParsePrefix("2001:db8::/32").Contains(block.Addr()) {
		t.Fatalf("vpc block %s, want a /56 of the documentation prefix", block)
	}
	if got := av.Ipv6CidrBlockAssociation.Ipv6CidrBlockState.State; got != types.VpcCidrBlockStateCodeAssociating {
		t.Errorf("association answered %q, want associating", got)
	}
	_, err = e.ec2.AssociateVpcCidrBlock(ctx, &awsec2.AssociateVpcCidrBlockInput{VpcId: aws.String(vpcDemo), AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
	mustCode(t, err, "CidrLimitExceeded")
	vpcs, err := e.ec2.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{Filters: []types.Filter{
		{Name: aws.String("ipv6-cidr-block-association.ipv6-cidr-block"), Values: []string{block.String()}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].VpcId) != vpcDemo ||
		vpcs.Vpcs[0].Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlockState.State != types.VpcCidrBlockStateCodeAssociated {
		t.Fatalf("DescribeVpcs by the block: %+v", vpcs.Vpcs)
	}
	local := func(table string) bool {
		out, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{RouteTableIds: []string{table}})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(out.RouteTables[0].Routes, func(r types.Route) bool {
			return aws.ToString(r.DestinationIpv6CidrBlock) == block.String() && aws.ToString(r.GatewayId) == "local"
		})
	}
	if !local(rtbA) || !local(rtbMain) {
		t.Fatalf("the tables of %s lack the local route for %s", vpcDemo, block)
	}

	// The subnets' /64s.
	sixA := netip.PrefixFrom(block.Addr(), 64)
	b := block.Addr().As16()
	b[7] = 2
	sixB := netip.PrefixFrom(netip.AddrFrom16(b), 64)
	for sn, p := range map[string]netip.Prefix{subnetA: sixA, subnetB: sixB} {
		if _, err := e.ec2.AssociateSubnetCidrBlock(ctx, &awsec2.AssociateSubnetCidrBlockInput{SubnetId: aws.String(sn), Ipv6CidrBlock: aws.String(p.String())}); err != nil {
			t.Fatalf("associate %s with %s: %v", sn, p, err)
		}
	}
	_, err = e.ec2.AssociateSubnetCidrBlock(ctx, &awsec2.AssociateSubnetCidrBlockInput{SubnetId: aws.String(subnetW), Ipv6CidrBlock: aws.String("2001:db8:ffff:1::/64")})
	mustCode(t, err, "InvalidSubnet.Range")
	_, err = e.ec2.AssociateSubnetCidrBlock(ctx, &awsec2.AssociateSubnetCidrBlockInput{SubnetId: aws.String(subnetW), Ipv6CidrBlock: aws.String(sixA.String())})
	mustCode(t, err, "InvalidSubnet.Conflict")
	sns, err := e.ec2.DescribeSubnets(ctx, &awsec2.DescribeSubnetsInput{SubnetIds: []string{subnetA}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sns.Subnets[0].Ipv6CidrBlockAssociationSet; len(got) != 1 || aws.ToString(got[0].Ipv6CidrBlock) != sixA.String() {
		t.Fatalf("DescribeSubnets: %+v, want %s", got, sixA)
	}
	subnetAssoc := aws.ToString(sns.Subnets[0].Ipv6CidrBlockAssociationSet[0].AssociationId)

	// Addresses on interfaces: counted, named, and refused when held
	// elsewhere.
	cnt, err := e.ec2.AssignIpv6Addresses(ctx, &awsec2.AssignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniA), Ipv6AddressCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cnt.AssignedIpv6Addresses) != 1 || !sixA.Contains(netip.MustParseAddr(cnt.AssignedIpv6Addresses[0])) {
		t.Fatalf("counted assignment gave %v, want one address of %s", cnt.AssignedIpv6Addresses, sixA)
	}
	_, err = e.ec2.AssignIpv6Addresses(ctx, &awsec2.AssignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniA), Ipv6AddressCount: aws.Int32(1), Ipv6Addresses: []string{sixA.Addr().String()}})
	mustCode(t, err, "InvalidParameterCombination")
	vipA := netip.MustParseAddr(sixA.Addr().String()).As16()
	vipA[15] = 0x64
	vip6 := netip.AddrFrom16(vipA).String()
	if _, err := e.ec2.AssignIpv6Addresses(ctx, &awsec2.AssignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniA), Ipv6Addresses: []string{vip6}}); err != nil {
		t.Fatal(err)
	}
	again, err := e.ec2.AssignIpv6Addresses(ctx, &awsec2.AssignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniA), Ipv6Addresses: []string{vip6}})
	if err != nil || len(again.AssignedIpv6Addresses) != 0 {
		t.Fatalf("assigning an address the interface holds: %v, %v; want success listing nothing new", again, err)
	}
	_, err = e.ec2.AssignIpv6Addresses(ctx, &awsec2.AssignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniSpare), Ipv6Addresses: []string{vip6}})
	mustCode(t, err, "InvalidParameterValue") // not of the spare's subnet (node-b)
	_, err = e.ec2.AssignIpv6Addresses(ctx, &awsec2.AssignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniMulti2), Ipv6Addresses: []string{vip6}})
	mustCode(t, err, "InvalidIPAddress.InUse")
	_, err = e.ec2.UnassignIpv6Addresses(ctx, &awsec2.UnassignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniMulti2), Ipv6Addresses: []string{vip6}})
	mustCode(t, err, "InvalidParameterValue")
	if _, err := e.ec2.UnassignIpv6Addresses(ctx, &awsec2.UnassignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniA), Ipv6Addresses: []string{vip6}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AssignIpv6Addresses(ctx, &awsec2.AssignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniMulti2), Ipv6Addresses: []string{vip6}}); err != nil {
		t.Fatalf("assign after unassigning from the old holder: %v", err)
	}
	enis, err := e.ec2.DescribeNetworkInterfaces(ctx, &awsec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{
		{Name: aws.String("ipv6-addresses.ipv6-address"), Values: []string{vip6}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(enis.NetworkInterfaces) != 1 || aws.ToString(enis.NetworkInterfaces[0].NetworkInterfaceId) != eniMulti2 {
		t.Fatalf("interfaces holding %s: %+v, want %s only", vip6, enis.NetworkInterfaces, eniMulti2)
	}
	insts, err := e.ec2.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("network-interface.ipv6-addresses.ipv6-address"), Values: []string{vip6}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(insts.Reservations) != 1 || aws.ToString(insts.Reservations[0].Instances[0].InstanceId) != multi {
		t.Fatalf("instances holding %s: %+v, want %s", vip6, insts.Reservations, multi)
	}

	// IPv6 routes.
	const overlay = "fd00:ec2::10/128"
	if _, err := e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationIpv6CidrBlock: aws.String(overlay), NetworkInterfaceId: aws.String(eniA)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationIpv6CidrBlock: aws.String(overlay), NetworkInterfaceId: aws.String(eniA)})
	mustCode(t, err, "RouteAlreadyExists")
	_, err = e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationIpv6CidrBlock: aws.String(vip6 + "/128"), NetworkInterfaceId: aws.String(eniA)})
	mustCode(t, err, "InvalidParameterValue") // inside the VPC's block: not a subnet's
	_, err = e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationIpv6CidrBlock: aws.String("fd00:ec2::10/64"), NetworkInterfaceId: aws.String(eniA)})
	mustCode(t, err, "InvalidParameterValue") // host bits
	_, err = e.ec2.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbA), DestinationIpv6CidrBlock: aws.String(overlay), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)})
	mustCode(t, err, "InvalidParameterCombination")
	if _, err := e.ec2.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbA), DestinationIpv6CidrBlock: aws.String(overlay), NetworkInterfaceId: aws.String(eniB)}); err != nil {
		t.Fatal(err)
	}
	rts, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("route.destination-ipv6-cidr-block"), Values: []string{overlay}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rts.RouteTables) != 1 || aws.ToString(rts.RouteTables[0].RouteTableId) != rtbA {
		t.Fatalf("tables routing %s: %+v, want %s", overlay, rts.RouteTables, rtbA)
	}
	i := slices.IndexFunc(rts.RouteTables[0].Routes, func(r types.Route) bool { return aws.ToString(r.DestinationIpv6CidrBlock) == overlay })
	if r := rts.RouteTables[0].Routes[i]; aws.ToString(r.NetworkInterfaceId) != eniB || aws.ToString(r.InstanceId) != nodeB || r.DestinationCidrBlock != nil {
		t.Fatalf("route %s: %+v, want via %s of %s", overlay, r, eniB, nodeB)
	}
	if _, err := e.ec2.DeleteRoute(ctx, &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbA), DestinationIpv6CidrBlock: aws.String(overlay)}); err != nil {
		t.Fatal(err)
	}
	_, err = e.ec2.DeleteRoute(ctx, &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbA), DestinationIpv6CidrBlock: aws.String(overlay)})
	mustCode(t, err, "InvalidRoute.NotFound")

	// Taking the blocks back: addresses first, then the subnet's, then
	// the VPC's.
	_, err = e.ec2.DisassociateSubnetCidrBlock(ctx, &awsec2.DisassociateSubnetCidrBlockInput{AssociationId: aws.String(subnetAssoc)})
	mustCode(t, err, "InvalidCidrBlock.InUse")
	_, err = e.ec2.DisassociateVpcCidrBlock(ctx, &awsec2.DisassociateVpcCidrBlockInput{AssociationId: av.Ipv6CidrBlockAssociation.AssociationId})
	mustCode(t, err, "InvalidCidrBlock.InUse")
	for eni, a := range map[string]string{eniA: cnt.AssignedIpv6Addresses[0], eniMulti2: vip6} {
		if _, err := e.ec2.UnassignIpv6Addresses(ctx, &awsec2.UnassignIpv6AddressesInput{NetworkInterfaceId: aws.String(eni), Ipv6Addresses: []string{a}}); err != nil {
			t.Fatal(err)
		}
	}
	sns, err = e.ec2.DescribeSubnets(ctx, &awsec2.DescribeSubnetsInput{SubnetIds: []string{subnetA, subnetB}})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range sns.Subnets {
		if _, err := e.ec2.DisassociateSubnetCidrBlock(ctx, &awsec2.DisassociateSubnetCidrBlockInput{AssociationId: sn.Ipv6CidrBlockAssociationSet[0].AssociationId}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.ec2.DisassociateVpcCidrBlock(ctx, &awsec2.DisassociateVpcCidrBlockInput{AssociationId: av.Ipv6CidrBlockAssociation.AssociationId}); err != nil {
		t.Fatal(err)
	}
	if local(rtbA) {
		t.Errorf("the local route for %s outlived the block", block)
	}
}

// TestIPv6Authorization: the IPv6 writes are checked against the caller's
// role like the IPv4 ones, on the resource the EC2 service authorization
// reference names: the network interface for AssignIpv6Addresses and
// UnassignIpv6Addresses, the route table for routes.
func TestIPv6Authorization(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	c := instanceClient(t, e.srv, nodeB) // vipd-node: routes, not addresses
	_, err := c.AssignIpv6Addresses(ctx, &awsec2.AssignIpv6AddressesInput{NetworkInterfaceId: aws.String(eniB), Ipv6AddressCount: aws.Int32(1)})
	if got := code(t, err); got != "UnauthorizedOperation" {
		t.Fatalf("AssignIpv6Addresses without the permission: code %q, want UnauthorizedOperation", got)
	}
	if _, err := e.ec2.AssociateVpcCidrBlock(ctx, &awsec2.AssociateVpcCidrBlockInput{VpcId: aws.String(vpcDemo), AmazonProvidedIpv6CidrBlock: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbB), DestinationIpv6CidrBlock: aws.String("fd00:ec2::10/128"), NetworkInterfaceId: aws.String(eniB)}); err != nil {
		t.Fatalf("CreateRoute of an IPv6 destination with route-table permissions: %v", err)
	}
	_, err = instanceClient(t, e.srv, multi).CreateRoute(ctx, &awsec2.CreateRouteInput{RouteTableId: aws.String(rtbB), DestinationIpv6CidrBlock: aws.String("fd00:ec2::11/128"), NetworkInterfaceId: aws.String(eniB)})
	if got := code(t, err); got != "UnauthorizedOperation" {
		t.Fatalf("CreateRoute in a table the role does not name: code %q, want UnauthorizedOperation", got)
	}
}

// TestIPv6World: a world file gives VPCs, subnets and interfaces their
// IPv6 blocks and addresses; the snapshot and IMDS report them, a dump
// reloads to the same state, and mistakes are named with their place.
func TestIPv6World(t *testing.T) {
	const world = `vpcs: [{name: v, cidr: 10.0.0.0/16, ipv6-cidr: amazon}]
subnets: [{name: s, vpc: v, cidr: 10.0.1.0/24, az: a, ipv6-cidr: "2001:db8:1:1::/64"}]
instances: [{name: i, subnet: s, ipv6-addresses: ["2001:db8:1:1::10"], source-dest-check: false}]
route-tables:
  - vpc: v
    main: true
    routes: [{destination: "fd00::10/128", instance: i}]
`
	w, err := vpcsim.ParseWorld([]byte(world), "w.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := vpcsimtest.NewServer(t, w)
	st := srv.Snapshot()
	if st.VPCs[0].IPv6CIDR != "2001:db8:1::/56" || st.Subnets[0].IPv6CIDR != "2001:db8:1:1::/64" ||
		!slices.Equal(st.NetworkInterfaces[0].IPv6Addresses, []string{"2001:db8:1:1::10"}) {
		t.Fatalf("snapshot: %+v %+v %+v", st.VPCs, st.Subnets, st.NetworkInterfaces)
	}
	var dsts []string
	for _, r := range st.RouteTables[0].Routes {
		dsts = append(dsts, r.Destination)
	}
	if !slices.Equal(dsts, []string{"10.0.0.0/16", "2001:db8:1::/56", "fd00::10/128"}) {
		t.Errorf("main table routes %v, want both local routes and the overlay", dsts)
	}
	// The rootless fabric delivers by the same routes: the overlay by its
	// IPv6 route, the interface's address by the local route.
	for _, dst := range []string{"fd00::10", "2001:db8:1:1::10"} {
		if got, err := srv.Resolve(st.Subnets[0].ID, netip.MustParseAddr(dst)); err != nil || got != st.Instances[0].ID {
			t.Errorf("resolve %s: %q, %v; want %s", dst, got, err, st.Instances[0].ID)
		}
	}
	dump, err := simclient.New(srv.URL(), nil).World(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w2, err := vpcsim.ParseWorld(dump, "dump.yaml")
	if err != nil {
		t.Fatalf("dump does not parse: %v\n%s", err, dump)
	}
	again := vpcsimtest.NewServer(t, w2).Snapshot()
	for i := range again.Instances {
		again.Instances[i].IMDSURL, st.Instances[i].IMDSURL = "", ""
	}
	if diff := cmp.Diff(st, again); diff != "" {
		t.Errorf("state after dump and reload (-before +after):\n%s", diff)
	}

	for _, tt := range []struct{ yaml, want string }{
		{`vpcs: [{name: v, cidr: 10.0.0.0/16, ipv6-cidr: "2001:db8:1::/48"}]`, "vpcs[0].ipv6-cidr: \"2001:db8:1::/48\" is not amazon or an IPv6 /56"},
		{`vpcs: [{name: v, cidr: 10.0.0.0/16, ipv6-cidr: amazon}]
subnets: [{name: s, vpc: v, cidr: 10.0.1.0/24, az: a, ipv6-cidr: "2001:db8:9:1::/64"}]`, "subnets[0].ipv6-cidr: 2001:db8:9:1::/64 is not inside the IPv6 block"},
		{`vpcs: [{name: v, cidr: 10.0.0.0/16, ipv6-cidr: amazon}]
subnets: [{name: s, vpc: v, cidr: 10.0.1.0/24, az: a, ipv6-cidr: "2001:db8:1:1::/64"}]
instances: [{subnet: s, ipv6-addresses: ["2001:db8:1:1::1"]}]`, "instances[0].ipv6-addresses[0]: Address 2001:db8:1:1::1 is reserved"},
	} {
		_, err := vpcsim.ParseWorld([]byte(tt.yaml), "w.yaml")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error %v, want %q", err, tt.want)
		}
	}
}
