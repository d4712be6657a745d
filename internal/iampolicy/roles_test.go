package iampolicy_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/resource/kinds"
)

const (
	routesRole = "arn:aws:iam::111122223333:role/vipd-routes"
	leaseRole  = "arn:aws:iam::777788889999:role/vipd-lease"
	nodeRole   = "arn:aws:iam::123456789012:role/vipd"
)

// TestRolesSplitThePolicy: the calls made with an assumed role need their
// statements in that role, and the node's own policy may assume it
// (sts:AssumeRole on the role's ARN,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user.html);
// in a shared VPC the owner account's route tables cannot be written with
// the participant's own policy at all, so a route statement on the node's
// side would be a grant that does nothing.
func TestRolesSplitThePolicy(t *testing.T) {
	cfg, err := config.Parse([]byte(`cluster: c
node: {name: a, advertise: 10.0.1.10:7946}
peers: [{name: b, address: 10.0.2.10:7946}]
election: {backend: dynamodb, dynamodb: {table: vipd-leases, assume-role: {role-arn: `+leaseRole+`}}}
local-address: {interface: none}
resources:
  - overlay-route: {cidr: 192.168.1.1/32, route-tables: [rtb-0a000000000000001]}
    assume-role: {role-arn: `+routesRole+`, external-id: orders}
  - elastic-ip: {allocation-id: eipalloc-0a000000000000001}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o := iampolicy.Options{Region: "eu-west-1", Account: "123456789012"}
	if diff := cmp.Diff([]string{routesRole, leaseRole}, iampolicy.Roles(cfg)); diff != "" {
		t.Errorf("Roles (-want +got):\n%s", diff)
	}
	sids := func(role string) []string {
		t.Helper()
		o := o
		o.Role = role
		p, err := iampolicy.For(cfg, o, kinds.Registry())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, st := range p.Statement {
			out = append(out, st.Sid+" "+strings.Join(st.Action, ",")+" "+strings.Join(st.Resource, ","))
		}
		return out
	}
	node := sids("")
	if diff := cmp.Diff([]string{
		"VipdDescribe ec2:DescribeAddresses *",
		"VipdElasticIP ec2:AssociateAddress,ec2:DisassociateAddress arn:aws:ec2:eu-west-1:123456789012:elastic-ip/eipalloc-0a000000000000001," +
			"arn:aws:ec2:eu-west-1:123456789012:instance/*,arn:aws:ec2:eu-west-1:123456789012:network-interface/*",
		"VipdAssumeRole sts:AssumeRole " + routesRole + "," + leaseRole,
	}, node); diff != "" {
		t.Errorf("the node's own policy (-want +got):\n%s", diff)
	}
	routes := sids(routesRole)
	if len(routes) != 2 || !strings.HasPrefix(routes[1], "VipdRouteWrite ec2:CreateRoute,ec2:ReplaceRoute ") {
		t.Errorf("the routes role's policy: %q, want the Describe and the route writes only", routes)
	}
	lease := sids(leaseRole)
	if len(lease) != 1 || !strings.HasPrefix(lease[0], "VipdLeaseTable ") {
		t.Errorf("the lease role's policy: %q, want the lease table's statement only", lease)
	}
	o.Role = "arn:aws:iam::1:role/other"
	if _, err := iampolicy.For(cfg, o, kinds.Registry()); err == nil || !strings.Contains(err.Error(), routesRole) {
		t.Errorf("For with a role the configuration does not name: %v, want an error naming the roles it does", err)
	}

	trust, err := iampolicy.Trust(cfg, routesRole, nodeRole)
	if err != nil {
		t.Fatal(err)
	}
	want := []iampolicy.Statement{{Sid: "VipdNodesAssume", Effect: "Allow", Principal: map[string]string{"AWS": nodeRole},
		Action: []string{"sts:AssumeRole"}, Condition: map[string]map[string]string{"StringEquals": {"sts:ExternalId": "orders"}}}}
	if diff := cmp.Diff(want, trust.Statement); diff != "" {
		t.Errorf("trust policy (-want +got):\n%s", diff)
	}
	if trust, err := iampolicy.Trust(cfg, leaseRole, nodeRole); err != nil || trust.Statement[0].Condition != nil {
		t.Errorf("trust policy of a role without an external ID: %+v, %v; want no condition", trust, err)
	}
}
