package vpcsim_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
)

// TestVpcSecondaryIPv4Blocks checks a VPC's secondary IPv4 blocks as the
// EC2 API reference and the VPC user guide describe them:
//   - AssociateVpcCidrBlock with CidrBlock "associate[s] a secondary IPv4
//     CIDR block" (API reference, AssociateVpcCidrBlock); the answer says
//     associating, DescribeVpcs lists it in CidrBlockAssociationSet, and
//     "a route is automatically added to your VPC route tables" (VPC user
//     guide, "Add or remove a CIDR block from your VPC").
//   - A subnet may lie in it (CreateSubnet), and not outside every block
//     (InvalidSubnet.Range).
//   - The quota "IPv4 CIDR blocks per VPC" is 5 with the primary (Amazon
//     VPC quotas); a sixth is CidrLimitExceeded, counted before the block
//     is checked, worded as EC2 answers in moto's aws_verified
//     test_associate_vpc_ipv4_cidr_block.
//   - DisassociateVpcCidrBlock refuses the primary block
//     (OperationNotPermitted) and a block holding a subnet, and removes the
//     local route; an unknown ID is InvalidVpcCidrBlockAssociationID.NotFound
//     (the code the AWS SDKs and terraform-provider-aws test for).
//   - Filters cidr-block-association.cidr-block, .association-id, .state.
//   - An instance's metadata lists every block under
//     vpc-ipv4-cidr-blocks ("The IPv4 CIDR blocks for the VPC", EC2 user
//     guide, "Instance metadata categories").
func TestVpcSecondaryIPv4Blocks(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	assoc, err := e.ec2.AssociateVpcCidrBlock(ctx, &awsec2.AssociateVpcCidrBlockInput{VpcId: aws.String(vpcDemo), CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	a := assoc.CidrBlockAssociation
	if a == nil || aws.ToString(a.CidrBlock) != "10.1.0.0/16" || a.CidrBlockState.State != types.VpcCidrBlockStateCodeAssociating || assoc.Ipv6CidrBlockAssociation != nil {
		t.Fatalf("AssociateVpcCidrBlock answered %+v", assoc)
	}
	id := aws.ToString(a.AssociationId)
	vpcs, err := e.ec2.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{Filters: []types.Filter{
		{Name: aws.String("cidr-block-association.association-id"), Values: []string{id}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].CidrBlock) != "10.0.0.0/16" {
		t.Fatalf("DescribeVpcs by association: %+v", vpcs.Vpcs)
	}
	set := vpcs.Vpcs[0].CidrBlockAssociationSet
	if len(set) != 2 || aws.ToString(set[0].CidrBlock) != "10.0.0.0/16" || aws.ToString(set[1].CidrBlock) != "10.1.0.0/16" ||
		set[1].CidrBlockState.State != types.VpcCidrBlockStateCodeAssociated {
		t.Fatalf("CidrBlockAssociationSet %+v", set)
	}
	for _, f := range []struct{ name, value string }{{"cidr", "10.1.0.0/16"}, {"cidr-block-association.cidr-block", "10.9.0.0/16"}} {
		out, err := e.ec2.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String(f.name), Values: []string{f.value}}}})
		if err != nil || len(out.Vpcs) != 0 {
			t.Errorf("filter %s=%s matched %d vpcs (err %v), want none: cidr is the primary block only", f.name, f.value, len(out.Vpcs), err)
		}
	}
	local := func() bool {
		out, err := e.ec2.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{RouteTableIds: []string{rtbA}})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(out.RouteTables[0].Routes, func(r types.Route) bool {
			return aws.ToString(r.DestinationCidrBlock) == "10.1.0.0/16" && aws.ToString(r.GatewayId) == "local"
		})
	}
	if !local() {
		t.Fatal("the table lacks the local route of the secondary block")
	}

	sn, err := e.ec2.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: aws.String(vpcDemo), CidrBlock: aws.String("10.1.4.0/24")})
	if err != nil {
		t.Fatalf("subnet in the secondary block: %v", err)
	}
	// The instances of the VPC see both blocks in their metadata.
	mac := macOf(t, e.srv.IMDSURL(nodeA))
	if got := metadata(t, imdsClient(e.srv.IMDSURL(nodeA)), "network/interfaces/macs/"+mac+"/vpc-ipv4-cidr-blocks"); got != "10.0.0.0/16\n10.1.0.0/16" {
		t.Errorf("vpc-ipv4-cidr-blocks = %q, want both blocks, the primary first", got)
	}

	// A world file keeps the block, so the subnet in it loads again.
	data, err := vpcsim.MarshalWorld(e.srv.World())
	if err != nil {
		t.Fatal(err)
	}
	w, err := vpcsim.ParseWorld(data, "dump.yaml")
	if err != nil {
		t.Fatal(err)
	}
	again, err := vpcsim.New(w, vpcsim.Options{})
	if err != nil {
		t.Fatalf("the dump does not load: %v", err)
	}
	again.Close()

	_, err = e.ec2.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: aws.String(vpcDemo), CidrBlock: aws.String("10.2.0.0/24")})
	if got := code(t, err); got != "InvalidSubnet.Range" {
		t.Errorf("subnet outside every block: %q, want InvalidSubnet.Range", got)
	}
	_, err = e.ec2.DisassociateVpcCidrBlock(ctx, &awsec2.DisassociateVpcCidrBlockInput{AssociationId: aws.String(id)})
	if got := code(t, err); got != "InvalidCidrBlock.InUse" {
		t.Errorf("disassociate a block holding a subnet: %q, want InvalidCidrBlock.InUse", got)
	}
	if _, err := e.ec2.DeleteSubnet(ctx, &awsec2.DeleteSubnetInput{SubnetId: sn.Subnet.SubnetId}); err != nil {
		t.Fatal(err)
	}
	dis, err := e.ec2.DisassociateVpcCidrBlock(ctx, &awsec2.DisassociateVpcCidrBlockInput{AssociationId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if dis.CidrBlockAssociation == nil || dis.CidrBlockAssociation.CidrBlockState.State != types.VpcCidrBlockStateCodeDisassociating {
		t.Fatalf("DisassociateVpcCidrBlock answered %+v", dis)
	}
	if local() {
		t.Fatal("the local route of the removed block is still there")
	}
	_, err = e.ec2.DisassociateVpcCidrBlock(ctx, &awsec2.DisassociateVpcCidrBlockInput{AssociationId: aws.String(id)})
	if got := code(t, err); got != "InvalidVpcCidrBlockAssociationID.NotFound" {
		t.Errorf("disassociate again: %q", got)
	}
	_, err = e.ec2.DisassociateVpcCidrBlock(ctx, &awsec2.DisassociateVpcCidrBlockInput{AssociationId: set[0].AssociationId})
	if got := code(t, err); got != "OperationNotPermitted" {
		t.Errorf("disassociate the primary block: %q, want OperationNotPermitted", got)
	}

	// Four more fill the quota of five; the sixth is refused even when
	// it is not a valid block (10.10.50.0/22 has host bits).
	for _, c := range []string{"10.10.43.0/24", "10.10.44.0/24", "10.10.45.0/24", "10.10.46.0/24"} {
		if _, err := e.ec2.AssociateVpcCidrBlock(ctx, &awsec2.AssociateVpcCidrBlockInput{VpcId: aws.String(vpcDemo), CidrBlock: aws.String(c)}); err != nil {
			t.Fatalf("associate %s: %v", c, err)
		}
	}
	_, err = e.ec2.AssociateVpcCidrBlock(ctx, &awsec2.AssociateVpcCidrBlockInput{VpcId: aws.String(vpcDemo), CidrBlock: aws.String("10.10.50.0/22")})
	if got := code(t, err); got != "CidrLimitExceeded" {
		t.Errorf("a sixth block: %q, want CidrLimitExceeded", got)
	}
	_, err = e.ec2.AssociateVpcCidrBlock(ctx, &awsec2.AssociateVpcCidrBlockInput{VpcId: aws.String(vpcOther), CidrBlock: aws.String("172.16.128.0/17")})
	if got := code(t, err); got != "InvalidVpc.Range" {
		t.Errorf("a block overlapping the primary: %q, want InvalidVpc.Range", got)
	}
}

// TestVpcTenancy: CreateVpc takes InstanceTenancy default or dedicated
// ("The host value cannot be used with this parameter", API reference,
// CreateVpc), and ModifyVpcTenancy changes it to default only ("You can
// change the instance tenancy attribute of a VPC to default only",
// ModifyVpcTenancy); another value is UnsupportedTenancy, a code of EC2's
// error list.
func TestVpcTenancy(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	v, err := e.ec2.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.8.0.0/16"), InstanceTenancy: types.TenancyDedicated})
	if err != nil {
		t.Fatal(err)
	}
	if v.Vpc.InstanceTenancy != types.TenancyDedicated {
		t.Fatalf("tenancy %q, want dedicated", v.Vpc.InstanceTenancy)
	}
	_, err = e.ec2.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16"), InstanceTenancy: types.TenancyHost})
	if got := code(t, err); got != "UnsupportedTenancy" {
		t.Errorf("host tenancy: %q, want UnsupportedTenancy", got)
	}
	_, err = e.ec2.ModifyVpcTenancy(ctx, &awsec2.ModifyVpcTenancyInput{VpcId: v.Vpc.VpcId, InstanceTenancy: "dedicated"})
	if got := code(t, err); got != "UnsupportedTenancy" {
		t.Errorf("modify to dedicated: %q, want UnsupportedTenancy", got)
	}
	if _, err := e.ec2.ModifyVpcTenancy(ctx, &awsec2.ModifyVpcTenancyInput{VpcId: v.Vpc.VpcId, InstanceTenancy: types.VpcTenancyDefault}); err != nil {
		t.Fatal(err)
	}
	out, err := e.ec2.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("instance-tenancy"), Values: []string{"default"}}},
		VpcIds: []string{aws.ToString(v.Vpc.VpcId)}})
	if err != nil || len(out.Vpcs) != 1 {
		t.Fatalf("DescribeVpcs instance-tenancy=default: %+v, %v", out, err)
	}
}

// TestSubnetIPv6NativeAndAttributes checks CreateSubnet's IPv6 forms and
// ModifySubnetAttribute:
//   - "For an IPv6 only subnet, specify an IPv6 CIDR block. For a dual
//     stack subnet, specify both" (API reference, CreateSubnet). An
//     IPv6-only subnet (Ipv6Native) has no IPv4 block and assigns IPv6
//     addresses on creation; without an IPv6 block it is MissingParameter,
//     with an IPv4 block InvalidParameterCombination, worded as EC2 answers
//     in moto's aws_verified test_create_ipv6native_subnet_*, which also
//     gives a subnet the VPC's whole /56 ("The allowed size for an IPv6
//     subnet is between a /44 netmask and a /64 netmask").
//   - A subnet answers Ipv6Native, AssignIpv6AddressOnCreation,
//     EnableDns64 and PrivateDnsNameOptionsOnLaunch (hostname type
//     ip-name by default); ModifySubnetAttribute changes "one attribute at
//     a time" (AWS CLI reference, modify-subnet-attribute).
//   - CreateVpc with Ipv6CidrBlock needs Ipv6Pool ("You must also specify
//     Ipv6Pool in the request", API reference, CreateVpc).
func TestSubnetIPv6NativeAndAttributes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	_, err := e.ec2.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.8.0.0/16"), Ipv6CidrBlock: aws.String("2602::/56")})
	if got := code(t, err); got != "MissingParameter" {
		t.Errorf("CreateVpc with Ipv6CidrBlock and no pool: %q, want MissingParameter", got)
	}
	v, err := e.ec2.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.8.0.0/16"), AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	block := aws.ToString(v.Vpc.Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock)
	_, err = e.ec2.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, Ipv6Native: aws.Bool(true)})
	if got := code(t, err); got != "MissingParameter" {
		t.Errorf("Ipv6Native without a block: %q, want MissingParameter", got)
	}
	_, err = e.ec2.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, Ipv6Native: aws.Bool(true), CidrBlock: aws.String("10.8.0.0/24"), Ipv6CidrBlock: aws.String(block)})
	if got := code(t, err); got != "InvalidParameterCombination" {
		t.Errorf("Ipv6Native with an IPv4 block: %q, want InvalidParameterCombination", got)
	}
	native, err := e.ec2.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, Ipv6Native: aws.Bool(true), Ipv6CidrBlock: aws.String(block)})
	if err != nil {
		t.Fatal(err)
	}
	n := native.Subnet
	if !aws.ToBool(n.Ipv6Native) || !aws.ToBool(n.AssignIpv6AddressOnCreation) || n.CidrBlock != nil ||
		len(n.Ipv6CidrBlockAssociationSet) != 1 || aws.ToString(n.Ipv6CidrBlockAssociationSet[0].Ipv6CidrBlock) != block {
		t.Fatalf("IPv6-only subnet %+v", n)
	}
	// The /56 is taken: a dual-stack subnet's /64 of it conflicts.
	_, err = e.ec2.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.8.1.0/24"), Ipv6CidrBlock: aws.String(block[:len(block)-3] + "/64")})
	if got := code(t, err); got != "InvalidSubnet.Conflict" {
		t.Errorf("a /64 of a taken /56: %q, want InvalidSubnet.Conflict", got)
	}

	sn, err := e.ec2.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.8.2.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	o := sn.Subnet.PrivateDnsNameOptionsOnLaunch
	if aws.ToBool(sn.Subnet.Ipv6Native) || o == nil || o.HostnameType != types.HostnameTypeIpName || aws.ToBool(o.EnableResourceNameDnsARecord) || aws.ToBool(sn.Subnet.MapPublicIpOnLaunch) {
		t.Fatalf("subnet %+v, options %+v", sn.Subnet, o)
	}
	_, err = e.ec2.ModifySubnetAttribute(ctx, &awsec2.ModifySubnetAttributeInput{SubnetId: sn.Subnet.SubnetId,
		MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}, EnableDns64: &types.AttributeBooleanValue{Value: aws.Bool(true)}})
	if got := code(t, err); got != "InvalidParameterCombination" {
		t.Errorf("two attributes at once: %q, want InvalidParameterCombination", got)
	}
	for _, in := range []*awsec2.ModifySubnetAttributeInput{
		{MapPublicIpOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}},
		{EnableResourceNameDnsARecordOnLaunch: &types.AttributeBooleanValue{Value: aws.Bool(true)}},
		{PrivateDnsHostnameTypeOnLaunch: types.HostnameTypeResourceName},
	} {
		in.SubnetId = sn.Subnet.SubnetId
		if _, err := e.ec2.ModifySubnetAttribute(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.ec2.DescribeSubnets(ctx, &awsec2.DescribeSubnetsInput{SubnetIds: []string{aws.ToString(sn.Subnet.SubnetId)}})
	if err != nil {
		t.Fatal(err)
	}
	got := out.Subnets[0]
	o = got.PrivateDnsNameOptionsOnLaunch
	if !aws.ToBool(got.MapPublicIpOnLaunch) || !aws.ToBool(o.EnableResourceNameDnsARecord) || o.HostnameType != types.HostnameTypeResourceName {
		t.Fatalf("after ModifySubnetAttribute: %+v, options %+v", got, o)
	}
}
