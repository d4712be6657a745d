package iampolicy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/resource/kinds"
)

// TestDynamoDBElection: a node of the dynamodb backend reads and
// conditionally writes the lease item, and vipd check describes the table;
// the statement names the table's ARN
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html:
// these actions take the table resource type).
func TestDynamoDBElection(t *testing.T) {
	cfg, err := config.Parse([]byte(`cluster: c
node: {name: a, advertise: 10.0.1.10:7946}
peers: [{name: b, address: 10.0.2.10:7946}]
election: {backend: dynamodb, dynamodb: {table: vipd-leases}}
local-address: {interface: none}
resources:
  - overlay-route: {cidr: 192.168.1.1/32, route-tables: [rtb-0a000000000000001]}
`), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := iampolicy.For(cfg, iampolicy.Options{Region: "eu-west-1", Account: "123456789012"}, kinds.Registry())
	if err != nil {
		t.Fatal(err)
	}
	want := []iampolicy.Statement{describe,
		{Sid: "VipdRouteWrite", Effect: "Allow", Action: []string{"ec2:CreateRoute", "ec2:ReplaceRoute"},
			Resource: []string{"arn:aws:ec2:eu-west-1:123456789012:route-table/rtb-0a000000000000001"}},
		{Sid: "VipdLeaseTable", Effect: "Allow",
			Action:   []string{"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
			Resource: []string{"arn:aws:dynamodb:eu-west-1:123456789012:table/vipd-leases"}},
	}
	if diff := cmp.Diff(want, p.Statement); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
}
