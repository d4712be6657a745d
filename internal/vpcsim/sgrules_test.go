package vpcsim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestModifySecurityGroupRules follows ModifySecurityGroupRules (a rule
// keeps its ID while its protocol, ports, peer and description change;
// a rule ID the group does not have is
// InvalidSecurityGroupRuleId.NotFound; a rule needs a protocol and
// exactly one peer) and UpdateSecurityGroupRuleDescriptionsIngress ("If
// the security group rule has a description, it is replaced") in the EC2
// API reference.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifySecurityGroupRules.html
func TestModifySecurityGroupRules(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	sg, err := e.ec2.CreateSecurityGroup(ctx, &awsec2.CreateSecurityGroupInput{GroupName: aws.String("db"), Description: aws.String("db"), VpcId: aws.String(vpcDemo)})
	if err != nil {
		t.Fatal(err)
	}
	perm := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
		IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.1.0/24"), Description: aws.String("app")}}}
	auth, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &awsec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []types.IpPermission{perm}})
	if err != nil {
		t.Fatal(err)
	}
	id := auth.SecurityGroupRules[0].SecurityGroupRuleId
	modify := func(rule *types.SecurityGroupRuleRequest, ruleID *string) error {
		_, err := e.ec2.ModifySecurityGroupRules(ctx, &awsec2.ModifySecurityGroupRulesInput{GroupId: sg.GroupId,
			SecurityGroupRules: []types.SecurityGroupRuleUpdate{{SecurityGroupRuleId: ruleID, SecurityGroupRule: rule}}})
		return err
	}
	if err := modify(&types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6432), ToPort: aws.Int32(6432),
		CidrIpv4: aws.String("10.0.2.0/24"), Description: aws.String("pgbouncer")}, id); err != nil {
		t.Fatal(err)
	}
	got, err := e.ec2.DescribeSecurityGroupRules(ctx, &awsec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{aws.ToString(id)}})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.SecurityGroupRules[0]; aws.ToInt32(r.FromPort) != 6432 || aws.ToString(r.CidrIpv4) != "10.0.2.0/24" || aws.ToString(r.Description) != "pgbouncer" {
		t.Errorf("modified rule %+v: want port 6432 from 10.0.2.0/24, pgbouncer", r)
	}
	for name, c := range map[string]struct {
		rule *types.SecurityGroupRuleRequest
		id   string
		code string
	}{
		"unknown rule": {&types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1), CidrIpv4: aws.String("10.0.0.0/8")}, "sgr-0123456789abcdef0", "InvalidSecurityGroupRuleId.NotFound"},
		"no protocol":  {&types.SecurityGroupRuleRequest{FromPort: aws.Int32(1), ToPort: aws.Int32(1), CidrIpv4: aws.String("10.0.0.0/8")}, aws.ToString(id), "InvalidParameterValue"},
		"no peer":      {&types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1)}, aws.ToString(id), "MissingParameter"},
		"two peers":    {&types.SecurityGroupRuleRequest{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1), CidrIpv4: aws.String("10.0.0.0/8"), CidrIpv6: aws.String("2001:db8::/32")}, aws.ToString(id), "InvalidParameterCombination"},
	} {
		if err := modify(c.rule, aws.String(c.id)); code(t, err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}

	perm2 := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6432), ToPort: aws.Int32(6432),
		IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.2.0/24"), Description: aws.String("renamed")}}}
	if _, err := e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &awsec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: sg.GroupId, IpPermissions: []types.IpPermission{perm2}}); err != nil {
		t.Fatal(err)
	}
	got, err = e.ec2.DescribeSecurityGroupRules(ctx, &awsec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{aws.ToString(id)}})
	if err != nil || aws.ToString(got.SecurityGroupRules[0].Description) != "renamed" {
		t.Errorf("description after update: %+v, %v; want renamed", got, err)
	}
	_, err = e.ec2.UpdateSecurityGroupRuleDescriptionsIngress(ctx, &awsec2.UpdateSecurityGroupRuleDescriptionsIngressInput{GroupId: sg.GroupId, IpPermissions: []types.IpPermission{perm}})
	if code(t, err) != "InvalidPermission.NotFound" {
		t.Errorf("update a rule the group lacks: %v, want InvalidPermission.NotFound", err)
	}
}
