package vpcsim_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// Security groups as the EC2 API reference and the VPC User Guide
// describe them:
//   - every VPC has a group named "default" allowing all traffic from
//     itself and all traffic out, which interfaces get when none is named
//     and which cannot be deleted
//     (https://docs.aws.amazon.com/vpc/latest/userguide/default-security-group.html);
//   - a rule that exists already is InvalidPermission.Duplicate, worded
//     `the specified rule "peer: ..., TCP, from port: 22, to port: 22,
//     ALLOW" already exists`
//     (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html);
//   - DeleteSecurityGroup of a group an interface uses or another group
//     references fails with DependencyViolation
//     (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html);
//   - ModifyNetworkInterfaceAttribute SecurityGroupId.N replaces the
//     interface's groups
//     (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyNetworkInterfaceAttribute.html);
//   - revoking a rule a group in a non-default VPC does not have is
//     InvalidPermission.NotFound
//     (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RevokeSecurityGroupIngress.html).
func TestSecurityGroups(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := regionClient(t, srv, "us-east-1")
	ctx := t.Context()

	vpc, err := c.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	defs, err := c.DescribeSecurityGroups(ctx, &awsec2.DescribeSecurityGroupsInput{Filters: []types.Filter{filter("vpc-id", vpcID), filter("group-name", "default")}})
	if err != nil || len(defs.SecurityGroups) != 1 {
		t.Fatalf("default group of a new VPC: %v, %v", defs, err)
	}
	def := defs.SecurityGroups[0]
	if len(def.IpPermissions) != 1 || aws.ToString(def.IpPermissions[0].IpProtocol) != "-1" ||
		len(def.IpPermissions[0].UserIdGroupPairs) != 1 || aws.ToString(def.IpPermissions[0].UserIdGroupPairs[0].GroupId) != aws.ToString(def.GroupId) {
		t.Errorf("default group ingress = %+v, want all traffic from itself", def.IpPermissions)
	}
	if len(def.IpPermissionsEgress) != 1 || aws.ToString(def.IpPermissionsEgress[0].IpRanges[0].CidrIp) != "0.0.0.0/0" {
		t.Errorf("default group egress = %+v, want all traffic to 0.0.0.0/0", def.IpPermissionsEgress)
	}
	_, err = c.DeleteSecurityGroup(ctx, &awsec2.DeleteSecurityGroupInput{GroupId: def.GroupId})
	if code(t, err) != "CannotDelete" {
		t.Errorf("delete the default group: %v, want CannotDelete", err)
	}

	web, err := c.CreateSecurityGroup(ctx, &awsec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web servers"), VpcId: aws.String(vpcID)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateSecurityGroup(ctx, &awsec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("again"), VpcId: aws.String(vpcID)})
	if code(t, err) != "InvalidGroup.Duplicate" {
		t.Errorf("create a second group named web: %v, want InvalidGroup.Duplicate", err)
	}
	ssh := []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &awsec2.AuthorizeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: ssh}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AuthorizeSecurityGroupIngress(ctx, &awsec2.AuthorizeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: ssh})
	if code(t, err) != "InvalidPermission.Duplicate" {
		t.Errorf("authorize the same rule twice: %v, want InvalidPermission.Duplicate", err)
	}
	got, err := c.DescribeSecurityGroups(ctx, &awsec2.DescribeSecurityGroupsInput{Filters: []types.Filter{filter("ip-permission.from-port", "22")}})
	if err != nil || len(got.SecurityGroups) != 1 || aws.ToString(got.SecurityGroups[0].GroupId) != aws.ToString(web.GroupId) {
		t.Errorf("groups allowing port 22 = %+v, %v; want just web", got, err)
	}

	sn, err := c.CreateSubnet(ctx, &awsec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String("10.1.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	eni, err := c.CreateNetworkInterface(ctx, &awsec2.CreateNetworkInterfaceInput{SubnetId: sn.Subnet.SubnetId})
	if err != nil {
		t.Fatal(err)
	}
	if g := eni.NetworkInterface.Groups; len(g) != 1 || aws.ToString(g[0].GroupId) != aws.ToString(def.GroupId) || aws.ToString(g[0].GroupName) != "default" {
		t.Errorf("groups of a new interface = %+v, want the VPC's default group", g)
	}
	eniID := eni.NetworkInterface.NetworkInterfaceId
	if _, err := c.ModifyNetworkInterfaceAttribute(ctx, &awsec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: eniID, Groups: []string{aws.ToString(web.GroupId)}}); err != nil {
		t.Fatal(err)
	}
	attr, err := c.DescribeNetworkInterfaceAttribute(ctx, &awsec2.DescribeNetworkInterfaceAttributeInput{NetworkInterfaceId: eniID, Attribute: types.NetworkInterfaceAttributeGroupSet})
	if err != nil || len(attr.Groups) != 1 || aws.ToString(attr.Groups[0].GroupId) != aws.ToString(web.GroupId) {
		t.Errorf("groups after modify = %+v, %v; want just web", attr, err)
	}
	_, err = c.DeleteSecurityGroup(ctx, &awsec2.DeleteSecurityGroupInput{GroupId: web.GroupId})
	if code(t, err) != "DependencyViolation" {
		t.Errorf("delete a group an interface uses: %v, want DependencyViolation", err)
	}

	run, err := c.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: sn.Subnet.SubnetId, SecurityGroupIds: []string{aws.ToString(web.GroupId)}})
	if err != nil {
		t.Fatal(err)
	}
	if g := run.Instances[0].SecurityGroups; len(g) != 1 || aws.ToString(g[0].GroupName) != "web" {
		t.Errorf("groups of the launched instance = %+v, want web", g)
	}
	byGroup, err := c.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{Filters: []types.Filter{filter("instance.group-id", aws.ToString(web.GroupId))}})
	if err != nil || len(byGroup.Reservations) != 1 {
		t.Errorf("instances in web = %+v, %v; want the one launched", byGroup, err)
	}

	if _, err := c.RevokeSecurityGroupIngress(ctx, &awsec2.RevokeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: ssh}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RevokeSecurityGroupIngress(ctx, &awsec2.RevokeSecurityGroupIngressInput{GroupId: web.GroupId, IpPermissions: ssh})
	if code(t, err) != "InvalidPermission.NotFound" {
		t.Errorf("revoke a rule the group does not have: %v, want InvalidPermission.NotFound", err)
	}
}

// Paginated Describe calls return at most MaxResults items (5 to 1000)
// and a NextToken while more remain; without MaxResults, all items
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcs.html,
// API_DescribeSecurityGroups.html, API_DescribeInstances.html: "You cannot
// specify this parameter and the instance IDs parameter in the same
// request"). The SDK's paginators walk every page.
func TestDescribePagination(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := regionClient(t, srv, "us-east-1")
	ctx := t.Context()
	for i := range 11 {
		if _, err := c.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String(fmt.Sprintf("10.%d.0.0/16", 100+i))}); err != nil {
			t.Fatal(err)
		}
	}
	seen, pages := map[string]bool{}, 0
	p := awsec2.NewDescribeVpcsPaginator(c, &awsec2.DescribeVpcsInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() && pages < 10 {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(out.Vpcs) > 5 {
			t.Errorf("page %d has %d VPCs, want at most 5", pages, len(out.Vpcs))
		}
		for _, v := range out.Vpcs {
			seen[aws.ToString(v.VpcId)] = true
		}
	}
	if pages != 3 || len(seen) != 12 {
		t.Errorf("paginator saw %d VPCs in %d pages, want 12 (11 and the default) in 3", len(seen), pages)
	}
	sgPages := 0
	sp := awsec2.NewDescribeSecurityGroupsPaginator(c, &awsec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(5)})
	groups := 0
	for sp.HasMorePages() && sgPages < 10 {
		out, err := sp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sgPages++
		groups += len(out.SecurityGroups)
	}
	if groups != 12 || sgPages != 3 {
		t.Errorf("security group paginator saw %d groups in %d pages, want 12 default groups in 3", groups, sgPages)
	}
	_, err := c.DescribeVpcs(ctx, &awsec2.DescribeVpcsInput{MaxResults: aws.Int32(3)})
	if code(t, err) != "InvalidParameterValue" {
		t.Errorf("MaxResults 3: %v, want InvalidParameterValue", err)
	}
	_, err = c.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}, MaxResults: aws.Int32(5)})
	if code(t, err) != "InvalidParameterCombination" {
		t.Errorf("DescribeInstances with IDs and MaxResults: %v, want InvalidParameterCombination", err)
	}
}

// TestSecurityGroupRules checks security group rules as objects of their
// own, as the EC2 API reference describes them:
//   - each rule has an sgr- ID that CreateTags and DeleteTags take
//     (resource type security-group-rule) and a TagSpecification of
//     AuthorizeSecurityGroupIngress tags ("The tags applied to the security
//     group rule", API reference, AuthorizeSecurityGroupIngress);
//   - DescribeSecurityGroupRules filters by group-id, tag:<key> and
//     tag-key; as EC2 answers in moto's aws_verified
//     test_invalid_security_group_id_in_rules_search, a malformed group-id
//     is InvalidGroupId.Malformed, an unknown rule ID
//     InvalidSecurityGroupRuleId.NotFound, an unknown group matches nothing;
//   - a group in a VPC with an IPv6 block also allows all IPv6 traffic out
//     ("If your VPC has an IPv6 CIDR block, we also add an outbound rule
//     that allows all IPv6 traffic", VPC user guide, "Security group
//     rules").
func TestSecurityGroupRules(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := regionClient(t, srv, "us-east-1")
	ctx := t.Context()
	vpc, err := c.CreateVpc(ctx, &awsec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16"), AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	sg, err := c.CreateSecurityGroup(ctx, &awsec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := c.DescribeSecurityGroups(ctx, &awsec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}})
	if err != nil {
		t.Fatal(err)
	}
	out := groups.SecurityGroups[0].IpPermissionsEgress
	if len(out) != 1 || len(out[0].IpRanges) != 1 || len(out[0].Ipv6Ranges) != 1 || aws.ToString(out[0].Ipv6Ranges[0].CidrIpv6) != "::/0" {
		t.Fatalf("egress of a group in an IPv6 VPC: %+v", out)
	}

	auth, err := c.AuthorizeSecurityGroupIngress(ctx, &awsec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId,
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
			IpRanges: []types.IpRange{{CidrIp: aws.String("1.2.3.4/32")}}}},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroupRule, Tags: []types.Tag{{Key: aws.String("Partner"), Value: aws.String("test")}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(auth.SecurityGroupRules) != 1 || len(auth.SecurityGroupRules[0].Tags) != 1 {
		t.Fatalf("authorize answered %+v", auth.SecurityGroupRules)
	}
	tagged := aws.ToString(auth.SecurityGroupRules[0].SecurityGroupRuleId)
	byTag, err := c.DescribeSecurityGroupRules(ctx, &awsec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("tag:Partner"), Values: []string{"test"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(byTag.SecurityGroupRules) != 1 || aws.ToString(byTag.SecurityGroupRules[0].SecurityGroupRuleId) != tagged {
		t.Fatalf("rules by tag: %+v", byTag.SecurityGroupRules)
	}

	all, err := c.DescribeSecurityGroupRules(ctx, &awsec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{aws.ToString(sg.GroupId)}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.SecurityGroupRules) != 3 || !aws.ToBool(all.SecurityGroupRules[0].IsEgress) {
		t.Fatalf("the group's rules (egress first): %+v", all.SecurityGroupRules)
	}
	egress := aws.ToString(all.SecurityGroupRules[0].SecurityGroupRuleId)
	if _, err := c.CreateTags(ctx, &awsec2.CreateTagsInput{Resources: []string{egress}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatalf("tag a rule: %v", err)
	}
	byKey, err := c.DescribeSecurityGroupRules(ctx, &awsec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("tag-key"), Values: []string{"k"}}}})
	if err != nil || len(byKey.SecurityGroupRules) != 1 || aws.ToString(byKey.SecurityGroupRules[0].SecurityGroupRuleId) != egress {
		t.Fatalf("rules by tag-key: %+v, %v", byKey, err)
	}
	tags, err := c.DescribeTags(ctx, &awsec2.DescribeTagsInput{Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{egress}}}})
	if err != nil || len(tags.Tags) != 1 || tags.Tags[0].ResourceType != types.ResourceTypeSecurityGroupRule {
		t.Fatalf("DescribeTags of the rule: %+v, %v", tags, err)
	}
	_, err = c.CreateTags(ctx, &awsec2.CreateTagsInput{Resources: []string{"sgr-0f80c7e764c18b3c0"}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if got := code(t, err); got != "InvalidSecurityGroupRuleId.NotFound" {
		t.Errorf("tag an unknown rule: %q", got)
	}

	_, err = c.DescribeSecurityGroupRules(ctx, &awsec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{"foobar"}}}})
	if got := code(t, err); got != "InvalidGroupId.Malformed" {
		t.Errorf("malformed group-id: %q", got)
	}
	_, err = c.DescribeSecurityGroupRules(ctx, &awsec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{"sgr-0f80c7e764c18b3c0"}})
	if got := code(t, err); got != "InvalidSecurityGroupRuleId.NotFound" {
		t.Errorf("unknown rule ID: %q", got)
	}
	none, err := c.DescribeSecurityGroupRules(ctx, &awsec2.DescribeSecurityGroupRulesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{"sg-005216b55886f0fdc"}}}})
	if err != nil || len(none.SecurityGroupRules) != 0 {
		t.Errorf("rules of an unknown group: %+v, %v", none, err)
	}
}
