package preflight_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/preflight"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

const leaseConfig = `cluster: c
node: {name: a, advertise: 127.0.0.1:7946}
peers: [{name: b, address: 127.0.0.1:7947}]
election: {backend: dynamodb, dynamodb: {table: vipd-leases}}
resources:
  - overlay-route: {cidr: 192.168.100.10/32, route-tables: [rtb-0a000000000000001]}
local-address: {interface: auto, cidr: 192.168.100.10/32}
`

// noPutItem is fullRole without dynamodb:PutItem: vpcsim then answers
// PutItem as DynamoDB answers a call the caller's policy does not allow,
// 400 AccessDeniedException
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
var noPutItem = strings.Replace(fullRole, "dynamodb:GetItem, dynamodb:PutItem,", "dynamodb:GetItem,", 1)

func TestLeaseTable(t *testing.T) {
	tests := []struct {
		name    string
		hashKey string // "" creates no table
		deny    bool
		held    bool // the lease item exists, held by b with token 7
		want    []outcome
	}{
		{name: "no table", want: []outcome{{"lease table vipd-leases", preflight.Fail}}},
		{name: "wrong hash key", hashKey: "pk", want: []outcome{{"lease table vipd-leases", preflight.Fail}}},
		{name: "all allowed", hashKey: "id", want: []outcome{
			{"lease table vipd-leases", preflight.Pass}, {"lease item c", preflight.Pass},
			{"permission dynamodb:PutItem vipd-leases", preflight.Pass},
			{"permission dynamodb:UpdateItem vipd-leases", preflight.Pass},
		}},
		{name: "item held", hashKey: "id", held: true, want: []outcome{
			{"lease table vipd-leases", preflight.Pass}, {"lease item c", preflight.Pass},
			{"permission dynamodb:PutItem vipd-leases", preflight.Pass},
			{"permission dynamodb:UpdateItem vipd-leases", preflight.Pass},
		}},
		{name: "PutItem denied", hashKey: "id", deny: true, want: []outcome{
			{"lease table vipd-leases", preflight.Pass}, {"lease item c", preflight.Pass},
			{"permission dynamodb:PutItem vipd-leases", preflight.Fail},
			{"permission dynamodb:UpdateItem vipd-leases", preflight.Pass},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			role := fullRole
			if tt.deny {
				role = noPutItem
			}
			e := newEnv(t, role, false)
			admin := dynamodb.NewFromConfig(vpcsimtest.AdminConfig(t, e.srv))
			if tt.hashKey != "" {
				if _, err := admin.CreateTable(t.Context(), &dynamodb.CreateTableInput{
					TableName:            aws.String("vipd-leases"),
					AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(tt.hashKey), AttributeType: types.ScalarAttributeTypeS}},
					KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(tt.hashKey), KeyType: types.KeyTypeHash}},
					BillingMode:          types.BillingModePayPerRequest,
				}); err != nil {
					t.Fatal(err)
				}
			}
			key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "c"}}
			held := map[string]types.AttributeValue{"id": key["id"], "owner": &types.AttributeValueMemberS{Value: "b"},
				"token": &types.AttributeValueMemberN{Value: "7"}, "rvn": &types.AttributeValueMemberS{Value: "r1"}}
			if tt.held {
				if _, err := admin.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("vipd-leases"), Item: held}); err != nil {
					t.Fatal(err)
				}
			}
			connect := e.deps.Connect
			e.deps.Connect = func(ctx context.Context, region string) (preflight.AWS, error) {
				a, err := connect(ctx, region)
				if err != nil {
					return a, err
				}
				c, err := awsapi.Load(ctx, awsapi.Options{Region: region, Endpoint: e.srv.URL(), IMDSEndpoint: e.srv.IMDSURL(instance), MaxAttempts: 1, ThrottledAttempts: 1})
				if err != nil {
					return a, err
				}
				a.DynamoDB = dynamodb.NewFromConfig(c.Config)
				return a, nil
			}
			cfg, err := config.Parse([]byte(leaseConfig), "vipd.yaml")
			if err != nil {
				t.Fatal(err)
			}
			rs := preflight.Run(t.Context(), cfg, e.deps)
			var got []outcome
			for _, o := range outcomes(rs) {
				if strings.HasPrefix(o.Check, "lease ") || strings.HasPrefix(o.Check, "permission dynamodb:") {
					got = append(got, o)
				}
				if o.Check == "peers" && o.Status != preflight.Skip {
					t.Errorf("peers: %v; the nodes of the dynamodb backend never connect", o.Status)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				var out bytes.Buffer
				_ = preflight.Write(&out, rs)
				t.Errorf("outcomes (-want +got):\n%s\n%s", diff, out.String())
			}
			if tt.hashKey != "id" {
				return
			}
			// The proofs changed nothing: no item created, none altered.
			out, err := admin.GetItem(t.Context(), &dynamodb.GetItemInput{TableName: aws.String("vipd-leases"),
				Key: key, ConsistentRead: aws.Bool(true)})
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]types.AttributeValue
			if tt.held {
				want = held
			}
			if diff := cmp.Diff(want, out.Item, cmpopts.IgnoreUnexported(types.AttributeValueMemberS{}, types.AttributeValueMemberN{})); diff != "" {
				t.Errorf("lease item after vipd check (-want +got):\n%s", diff)
			}
			for _, r := range rs {
				if r.Check == "lease item c" && tt.held && r.Detail != "held by b (token 7)" {
					t.Errorf("lease item detail %q, want who holds it", r.Detail)
				}
			}
		})
	}
}
