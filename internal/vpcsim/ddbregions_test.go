package vpcsim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestDynamoDBIsRegionalRoute53Global drives the server in two regions.
// DynamoDB is regional: "table names must be unique within each Region.
// That is, you can have two tables with same name if you create the
// tables in different Regions" (API reference CreateTable), and a role's
// allow list names tables by their region's ARN. Route 53 is global: one
// endpoint, route53.amazonaws.com, for every region ("Amazon Route 53
// endpoints and quotas", AWS General Reference), so its zones are the same
// whichever region signs.
func TestDynamoDBIsRegionalRoute53Global(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	ctx := t.Context()
	admin := func(region string) aws.Config {
		return vpcsimtest.AdminConfig(t, srv, config.WithRegion(region), config.WithRetryMaxAttempts(1))
	}
	us, eu := dynamodb.NewFromConfig(admin("us-east-1")), dynamodb.NewFromConfig(admin("eu-west-1"))
	for _, c := range []*dynamodb.Client{us, eu} {
		if _, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("lease"), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}}}); err != nil {
			t.Fatalf("CreateTable lease: %v", err)
		}
	}
	key := map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "vip"}}
	if _, err := eu.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("lease"), Item: key}); err != nil {
		t.Fatal(err)
	}
	if out, err := us.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("lease"), Key: key}); err != nil || out.Item != nil {
		t.Errorf("us-east-1 lease has eu-west-1's item: %+v, %v", out, err)
	}
	if out, err := eu.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("lease")}); err != nil ||
		aws.ToString(out.Table.TableArn) != "arn:aws:dynamodb:eu-west-1:123456789012:table/lease" {
		t.Errorf("eu-west-1 DescribeTable: %+v, %v", out, err)
	}
	// The server's own region still answers its Go API and unsigned callers.
	if got := srv.Region(); got != "us-east-1" {
		t.Fatalf("server region %s", got)
	}

	// node-a's role may GetItem arn:aws:dynamodb:us-east-1:...:table/lease
	// (testdata/world.yaml), not eu-west-1's table of the same name.
	node := func(region string) *dynamodb.Client {
		return dynamodb.NewFromConfig(vpcsimtest.InstanceConfig(t, srv, nodeA, config.WithRegion(region), config.WithRetryMaxAttempts(1)))
	}
	if _, err := node("us-east-1").GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("lease"), Key: key}); err != nil {
		t.Errorf("node-a GetItem in us-east-1: %v", err)
	}
	if _, err := node("eu-west-1").GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("lease"), Key: key}); code(t, err) != "AccessDeniedException" {
		t.Errorf("node-a GetItem in eu-west-1: %v, want AccessDeniedException", err)
	}

	r53us, r53eu := route53.NewFromConfig(admin("us-east-1")), route53.NewFromConfig(admin("eu-west-1"))
	zone, err := r53eu.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("db.internal."), CallerReference: aws.String("regions")})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := r53us.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: zone.HostedZone.Id}); err != nil || aws.ToString(out.HostedZone.Name) != "db.internal." {
		t.Errorf("us-east-1 GetHostedZone of a zone created signing eu-west-1: %+v, %v", out, err)
	}
	for _, c := range []*route53.Client{r53us, r53eu} {
		if out, err := c.ListHostedZones(ctx, &route53.ListHostedZonesInput{}); err != nil || len(out.HostedZones) != 1 {
			t.Errorf("ListHostedZones: %+v, %v", out, err)
		}
	}
}
