package vpcsim_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	awsec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// sharedVPCWorld is a VPC owned by account 222222222222 whose subnet is
// shared with account 111111111111, where the instances run; the owner's
// role vipd-routes trusts the participant's instance role vipd-node with
// an external ID.
const sharedVPCWorld = `
account-id: "111111111111"
vpcs:
  - {name: shared, cidr: 10.0.0.0/16, owner-id: "222222222222"}
subnets:
  - {name: a, vpc: shared, cidr: 10.0.1.0/24, az: a}
route-tables:
  - name: owners
    vpc: shared
    routes: [{destination: 192.168.100.10/32, instance: node1}]
instances:
  - {name: node1, subnet: a, role: vipd-node, source-dest-check: false}
  - {name: node2, subnet: a, role: vipd-node, source-dest-check: false}
  - {name: other, subnet: a, role: no-assume}
roles:
  - name: vipd-node
    statements:
      - actions: ["ec2:Describe*", "ec2:ReplaceRoute"]
      - actions: ["sts:AssumeRole"]
        resources: ["arn:aws:iam::222222222222:role/vipd-routes"]
  - name: no-assume
    actions: ["ec2:Describe*"]
  - name: vipd-routes
    account: "222222222222"
    trust:
      principals: ["arn:aws:iam::111111111111:role/vipd-node", "arn:aws:iam::111111111111:role/no-assume"]
      external-id: vipd-test
    session-lifetime: 2s
    statements:
      - actions: ["ec2:DescribeRouteTables", "ec2:DescribeNetworkInterfaces"]
      - actions: ["ec2:ReplaceRoute", "ec2:CreateRoute"]
        resources: ["arn:aws:ec2:*:222222222222:route-table/*"]
`

const routesRole = "arn:aws:iam::222222222222:role/vipd-routes"

func instanceByName(t *testing.T, s *vpcsim.Server, name string) vpcsim.InstanceState {
	t.Helper()
	for _, in := range s.Snapshot().Instances {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("no instance %s", name)
	return vpcsim.InstanceState{}
}

func apiCode(err error) string {
	var ae smithy.APIError
	if err != nil && errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// assumed returns an EC2 client and the credentials of a session of
// vipd-routes assumed by the instance named name.
func assumed(t *testing.T, s *vpcsim.Server, name, externalID string) (*awsec2.Client, aws.Credentials, error) {
	t.Helper()
	cfg := vpcsimtest.InstanceConfig(t, s, instanceByName(t, s, name).ID, config.WithRetryMaxAttempts(1))
	in := &sts.AssumeRoleInput{RoleArn: aws.String(routesRole), RoleSessionName: aws.String("vipd-" + name)}
	if externalID != "" {
		in.ExternalId = aws.String(externalID)
	}
	out, err := sts.NewFromConfig(cfg).AssumeRole(t.Context(), in)
	if err != nil {
		return nil, aws.Credentials{}, err
	}
	c := out.Credentials
	creds := aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken, Expires: *c.Expiration, CanExpire: true}
	acfg := cfg.Copy()
	acfg.Credentials = credentials.StaticCredentialsProvider{Value: creds}
	return awsec2.NewFromConfig(acfg), creds, nil
}

// TestSharedVPCParticipantCannotChangeOwnersRouteTable: the participant's
// instance role cannot see or change the route table of the VPC owner,
// even with ec2:ReplaceRoute on "*" ("Participants cannot view, modify, or
// delete resources that belong to other participants or the VPC owner",
// VPC user guide, "Share your VPC subnets with other accounts").
func TestSharedVPCParticipantCannotChangeOwnersRouteTable(t *testing.T) {
	s := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, sharedVPCWorld))
	rtb := s.Snapshot().RouteTables
	owners := rtb[slices.IndexFunc(rtb, func(r vpcsim.RouteTableState) bool { return r.Tags["Name"] == "owners" })].ID
	node2 := instanceByName(t, s, "node2")
	ec2c := awsec2.NewFromConfig(vpcsimtest.InstanceConfig(t, s, instanceByName(t, s, "node1").ID, config.WithRetryMaxAttempts(1)))

	out, err := ec2c.DescribeRouteTables(t.Context(), &awsec2.DescribeRouteTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.RouteTables {
		if *r.RouteTableId == owners {
			t.Errorf("participant sees the owner's route table %s", owners)
		}
	}
	_, err = ec2c.ReplaceRoute(t.Context(), &awsec2.ReplaceRouteInput{RouteTableId: aws.String(owners),
		DestinationCidrBlock: aws.String("192.168.100.10/32"), NetworkInterfaceId: aws.String(node2.ENIs[0])})
	if got := apiCode(err); got != "UnauthorizedOperation" {
		t.Fatalf("ReplaceRoute in the owner's table with the participant's role: code %q (%v), want UnauthorizedOperation", got, err)
	}
}

// TestAssumeRoleCrossAccount follows the STS API reference's AssumeRole
// and GetCallerIdentity: the role's trust policy and external ID decide
// (AccessDenied otherwise, HTTP 403), the caller's own policy must allow
// sts:AssumeRole on the role's ARN, the session's ARN is
// arn:aws:sts::<role's account>:assumed-role/<role>/<session name>, and its
// credentials change the owner's route table until they expire.
func TestAssumeRoleCrossAccount(t *testing.T) {
	s := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, sharedVPCWorld))
	ctx := t.Context()
	node1, node2 := instanceByName(t, s, "node1"), instanceByName(t, s, "node2")

	t.Run("without the external ID the role refuses", func(t *testing.T) {
		for _, ext := range []string{"", "wrong-id"} {
			_, _, err := assumed(t, s, "node1", ext)
			if got := apiCode(err); got != "AccessDenied" || !strings.Contains(err.Error(), "sts:AssumeRole on resource: "+routesRole) {
				t.Errorf("external id %q: %v, want AccessDenied naming sts:AssumeRole and the role", ext, err)
			}
		}
	})
	t.Run("a principal whose policy lacks sts:AssumeRole is refused", func(t *testing.T) {
		_, _, err := assumed(t, s, "other", "vipd-test")
		if got := apiCode(err); got != "AccessDenied" || !strings.Contains(err.Error(), "assumed-role/no-assume/") {
			t.Errorf("%v, want AccessDenied naming the caller", err)
		}
	})
	t.Run("the caller's identity before and after", func(t *testing.T) {
		cfg := vpcsimtest.InstanceConfig(t, s, node1.ID)
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if *id.Account != "111111111111" || *id.Arn != "arn:aws:sts::111111111111:assumed-role/vipd-node/"+node1.ID {
			t.Errorf("instance identity: account %s arn %s", *id.Account, *id.Arn)
		}
		_, creds, err := assumed(t, s, "node1", "vipd-test")
		if err != nil {
			t.Fatal(err)
		}
		acfg := cfg.Copy()
		acfg.Credentials = credentials.StaticCredentialsProvider{Value: creds}
		id, err = sts.NewFromConfig(acfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if *id.Account != "222222222222" || *id.Arn != "arn:aws:sts::222222222222:assumed-role/vipd-routes/vipd-node1" ||
			!strings.HasSuffix(*id.UserId, ":vipd-node1") {
			t.Errorf("session identity: account %s arn %s user %s", *id.Account, *id.Arn, *id.UserId)
		}
	})
	t.Run("the session changes the owner's table until it expires", func(t *testing.T) {
		ec2c, creds, err := assumed(t, s, "node1", "vipd-test")
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Until(creds.Expires); d <= 0 || d > 3*time.Second {
			t.Errorf("expiration %s is %s away, want the role's 2s session lifetime", creds.Expires, d)
		}
		out, err := ec2c.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{Filters: []awsec2types.Filter{{Name: aws.String("tag:Name"), Values: []string{"owners"}}}})
		if err != nil || len(out.RouteTables) != 1 {
			t.Fatalf("owner's table seen by the session: %v, %v", out, err)
		}
		rtb := *out.RouteTables[0].RouteTableId
		if o := *out.RouteTables[0].OwnerId; o != "222222222222" {
			t.Errorf("OwnerId %s, want the VPC owner 222222222222", o)
		}
		since := uint64(0)
		if calls := s.Calls(0); len(calls) > 0 {
			since = calls[len(calls)-1].Seq
		}
		if _, err := ec2c.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtb),
			DestinationCidrBlock: aws.String("192.168.100.10/32"), NetworkInterfaceId: aws.String(node2.ENIs[0])}); err != nil {
			t.Fatalf("ReplaceRoute with the assumed role: %v", err)
		}
		var logged bool
		for _, c := range s.Calls(since) {
			if c.Action == "ReplaceRoute" && c.Status == 200 {
				logged = c.Caller == node1.ID && c.Principal == "arn:aws:sts::222222222222:assumed-role/vipd-routes/vipd-node1"
			}
		}
		if !logged {
			t.Errorf("call log does not show the write by node1's session of vipd-routes: %+v", s.Calls(since))
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		for {
			_, err := ec2c.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{RouteTableIds: []string{rtb}})
			if apiCode(err) == "RequestExpired" {
				break // EC2 API reference, "Error codes": RequestExpired for expired temporary credentials
			}
			if err != nil && ctx.Err() != nil {
				t.Fatalf("session credentials still accepted after %s: %v", creds.Expires, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
