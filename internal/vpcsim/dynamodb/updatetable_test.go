package dynamodb_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestUpdateTableIndexes: GlobalSecondaryIndexUpdates create, update and
// delete a GSI (API reference UpdateTable, GlobalSecondaryIndexUpdates:
// "Create - add a new global secondary index to the table. Update -
// modify the provisioned throughput settings of an existing global
// secondary index. Delete - remove a global secondary index from the
// table").
func TestUpdateTableIndexes(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{TableName: aws.String("tbl"), AttributeDefinitions: attrDefs("pk", "S"), KeySchema: keySchema("pk"),
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)}})
	if err != nil {
		t.Fatal(err)
	}
	put(t, c, "tbl", av{"pk": s("a"), "g": s("G")})
	pt := func(r, w int64) *types.ProvisionedThroughput {
		return &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(r), WriteCapacityUnits: aws.Int64(w)}
	}
	create := types.GlobalSecondaryIndexUpdate{Create: &types.CreateGlobalSecondaryIndexAction{IndexName: aws.String("by_g"), KeySchema: keySchema("g"),
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}, ProvisionedThroughput: pt(3, 4)}}
	// The new index's key must be defined in AttributeDefinitions.
	_, err = c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("tbl"), GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{create}})
	if code, msg := apiCode(t, err); code != "ValidationException" || !strings.Contains(msg, "Some index key attributes are not defined in AttributeDefinitions. Keys: [g]") {
		t.Errorf("undefined key: %s %q", code, msg)
	}
	out, err := c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("tbl"), AttributeDefinitions: attrDefs("pk", "S", "g", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{create}})
	if err != nil {
		t.Fatal(err)
	}
	g := out.TableDescription.GlobalSecondaryIndexes
	if len(g) != 1 || *g[0].ProvisionedThroughput.ReadCapacityUnits != 3 || *g[0].ItemCount != 1 || len(out.TableDescription.AttributeDefinitions) != 2 {
		t.Errorf("after create: %+v", out.TableDescription)
	}
	q, err := c.Query(ctx, &awsddb.QueryInput{TableName: aws.String("tbl"), IndexName: aws.String("by_g"), KeyConditionExpression: aws.String("g = :g"), ExpressionAttributeValues: av{":g": s("G")}})
	if err != nil || q.Count != 1 {
		t.Errorf("query new index: %v %v", q, err)
	}
	_, err = c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("tbl"), AttributeDefinitions: attrDefs("pk", "S", "g", "S"),
		GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{create}})
	if code, msg := apiCode(t, err); code != "ValidationException" || msg != "Attempting to create an index which already exists" {
		t.Errorf("create twice: %s %q", code, msg)
	}
	out, err = c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("tbl"), GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{
		{Update: &types.UpdateGlobalSecondaryIndexAction{IndexName: aws.String("by_g"), ProvisionedThroughput: pt(10, 11)}}}})
	if err != nil || *out.TableDescription.GlobalSecondaryIndexes[0].ProvisionedThroughput.WriteCapacityUnits != 11 {
		t.Errorf("update: %v", err)
	}
	// API reference UpdateTable: "You can create or delete only one
	// global secondary index per UpdateTable operation."
	del := types.GlobalSecondaryIndexUpdate{Delete: &types.DeleteGlobalSecondaryIndexAction{IndexName: aws.String("by_g")}}
	_, err = c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("tbl"), GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{del, del}})
	if code, _ := apiCode(t, err); code != "LimitExceededException" {
		t.Errorf("two deletes: %s", code)
	}
	out, err = c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("tbl"), GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{del}})
	if err != nil || out.TableDescription.GlobalSecondaryIndexes[0].IndexStatus != types.IndexStatusDeleting {
		t.Fatalf("delete: %v", err)
	}
	d, err := c.DescribeTable(ctx, &awsddb.DescribeTableInput{TableName: aws.String("tbl")})
	if err != nil || d.Table.GlobalSecondaryIndexes != nil || len(d.Table.AttributeDefinitions) != 1 {
		t.Errorf("after delete: %+v %v", d.Table, err)
	}
	_, err = c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("tbl"), GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{del}})
	if code, _ := apiCode(t, err); code != "ResourceNotFoundException" {
		t.Errorf("delete missing: %s", code)
	}
}

// TestUpdateTableSettings: billing mode, throughput and deletion
// protection.
func TestUpdateTableSettings(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	createLeaseTable(t, c)
	// A table turned PROVISIONED needs its throughput (API reference
	// UpdateTable, BillingMode and ProvisionedThroughput).
	_, err := c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("leases"), BillingMode: types.BillingModeProvisioned})
	if code, _ := apiCode(t, err); code != "ValidationException" {
		t.Errorf("PROVISIONED without throughput: %s", code)
	}
	out, err := c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("leases"), BillingMode: types.BillingModeProvisioned,
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(2), WriteCapacityUnits: aws.Int64(3)}, DeletionProtectionEnabled: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	td := out.TableDescription
	// BillingModeSummary, LastUpdateToPayPerRequestDateTime: "the time
	// when PAY_PER_REQUEST was last set as the read/write capacity mode".
	if td.BillingModeSummary.BillingMode != types.BillingModeProvisioned || td.BillingModeSummary.LastUpdateToPayPerRequestDateTime == nil ||
		*td.ProvisionedThroughput.WriteCapacityUnits != 3 || !*td.DeletionProtectionEnabled {
		t.Errorf("after update: %+v %+v", td.BillingModeSummary, td.ProvisionedThroughput)
	}
	if _, err := c.DeleteTable(ctx, &awsddb.DeleteTableInput{TableName: aws.String("leases")}); err == nil {
		t.Error("DeleteTable succeeded with deletion protection")
	}
	// What vpcsim does not model is refused, not ignored.
	_, err = c.UpdateTable(ctx, &awsddb.UpdateTableInput{TableName: aws.String("leases"), TableClass: types.TableClassStandardInfrequentAccess})
	if _, msg := apiCode(t, err); msg != "vpcsim does not model UpdateTable's TableClass" {
		t.Errorf("TableClass: %q", msg)
	}
}

// TestIndexKeyLimitsAndPlaceholders: an index's sort key is held to the
// sort key size limit, placeholders must be well formed, and an empty
// sort key value in a key condition is refused.
func TestIndexKeyLimitsAndPlaceholders(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{TableName: aws.String("tbl"), AttributeDefinitions: attrDefs("pk", "S", "sk", "S"),
		KeySchema: keySchema("pk", "sk"), BillingMode: types.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("swap"), KeySchema: keySchema("sk", "pk"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}}}})
	if err != nil {
		t.Fatal(err)
	}
	// Developer Guide, "Quotas": sort key values up to 1024 bytes.
	_, err = c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("tbl"), Item: av{"pk": s(strings.Repeat("x", 1025)), "sk": s("a")}})
	if _, msg := apiCode(t, err); msg != "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes" {
		t.Errorf("long index sort key: %q", msg)
	}
	_, err = c.Scan(ctx, &awsddb.ScanInput{TableName: aws.String("tbl"), FilterExpression: aws.String("a = loc"), ExpressionAttributeValues: av{"loc": s("x")}})
	if _, msg := apiCode(t, err); msg != `ExpressionAttributeValues contains invalid key: Syntax error; key: "loc"` {
		t.Errorf("bad placeholder: %q", msg)
	}
	_, err = c.Query(ctx, &awsddb.QueryInput{TableName: aws.String("tbl"), KeyConditionExpression: aws.String("pk = :p AND sk = :s"), ExpressionAttributeValues: av{":p": s("a"), ":s": s("")}})
	if _, msg := apiCode(t, err); msg != "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: sk" {
		t.Errorf("empty sort key: %q", msg)
	}
}
