package dynamodb_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim/dynamodb"
)

// TestRegions checks that each region is its own DynamoDB, picked by the
// request's SigV4 scope. API reference CreateTable: "In an Amazon Web
// Services account, table names must be unique within each Region. That
// is, you can have two tables with same name if you create the tables in
// different Regions." ListTables "Returns an array of table names
// associated with the current account and endpoint", and
// DescribeEndpoints "Returns the regional endpoint information".
func TestRegions(t *testing.T) {
	srv := serve(t, dynamodb.Options{AccountID: "111122223333"})
	us, eu := clientOf(srv, "us-east-1"), clientOf(srv, "eu-west-1")
	ctx := t.Context()

	arns := map[string]string{}
	for region, c := range map[string]*awsddb.Client{"us-east-1": us, "eu-west-1": eu} {
		out, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
			TableName:            aws.String("tbl"),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		})
		if err != nil {
			t.Fatalf("%s: CreateTable tbl: %v", region, err)
		}
		arns[region] = aws.ToString(out.TableDescription.TableArn)
		if want := "arn:aws:dynamodb:" + region + ":111122223333:table/tbl"; arns[region] != want {
			t.Errorf("%s: TableArn %s, want %s", region, arns[region], want)
		}
	}
	if _, err := us.CreateTable(ctx, &awsddb.CreateTableInput{
		TableName:            aws.String("only-us"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}

	// Items written in one region are not in the other's table T.
	if _, err := us.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("tbl"), Item: av{"id": s("k"), "v": s("us")}}); err != nil {
		t.Fatal(err)
	}
	got, err := eu.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("tbl"), Key: av{"id": s("k")}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Item != nil {
		t.Errorf("eu-west-1 tbl has the item written to us-east-1 T: %v", got.Item)
	}

	for region, want := range map[string][]string{"us-east-1": {"only-us", "tbl"}, "eu-west-1": {"tbl"}} {
		c := map[string]*awsddb.Client{"us-east-1": us, "eu-west-1": eu}[region]
		l, err := c.ListTables(ctx, &awsddb.ListTablesInput{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, l.TableNames); diff != "" {
			t.Errorf("%s ListTables (-want +got):\n%s", region, diff)
		}
		e, err := c.DescribeEndpoints(ctx, &awsddb.DescribeEndpointsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Endpoints) != 1 || aws.ToString(e.Endpoints[0].Address) != "dynamodb."+region+".amazonaws.com" {
			t.Errorf("%s DescribeEndpoints %+v", region, e.Endpoints)
		}
	}

	// A table's ARN names it only in its own region.
	if _, err := us.DescribeTable(ctx, &awsddb.DescribeTableInput{TableName: aws.String(arns["us-east-1"])}); err != nil {
		t.Errorf("us-east-1 DescribeTable by its ARN: %v", err)
	}
	_, err = eu.DescribeTable(ctx, &awsddb.DescribeTableInput{TableName: aws.String(strings.Replace(arns["us-east-1"], "table/tbl", "table/only-us", 1))})
	if code, _ := apiCode(t, err); code != "ResourceNotFoundException" {
		t.Errorf("eu-west-1 DescribeTable of a us-east-1 ARN: %s, want ResourceNotFoundException", code)
	}

	// Backups belong to their table's region.
	b, err := eu.CreateBackup(ctx, &awsddb.CreateBackupInput{TableName: aws.String("tbl"), BackupName: aws.String("nightly")})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(b.BackupDetails.BackupArn); !strings.HasPrefix(arn, arns["eu-west-1"]+"/backup/") {
		t.Errorf("eu-west-1 BackupArn %s, want under %s", arn, arns["eu-west-1"])
	}
	for region, want := range map[string]int{"us-east-1": 0, "eu-west-1": 1} {
		c := map[string]*awsddb.Client{"us-east-1": us, "eu-west-1": eu}[region]
		l, err := c.ListBackups(ctx, &awsddb.ListBackupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.BackupSummaries) != want {
			t.Errorf("%s ListBackups: %d backups, want %d", region, len(l.BackupSummaries), want)
		}
	}
	if _, err := us.DescribeBackup(ctx, &awsddb.DescribeBackupInput{BackupArn: b.BackupDetails.BackupArn}); err == nil {
		t.Errorf("us-east-1 DescribeBackup of an eu-west-1 backup succeeded")
	}

	// Deleting one region's tbl leaves the other's.
	if _, err := eu.DeleteTable(ctx, &awsddb.DeleteTableInput{TableName: aws.String("tbl")}); err != nil {
		t.Fatal(err)
	}
	got, err = us.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("tbl"), Key: av{"id": s("k")}})
	if err != nil || got.Item == nil {
		t.Errorf("us-east-1 tbl after eu-west-1 tbl was deleted: %v, %v", got, err)
	}
}
