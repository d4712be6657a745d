package dynamodb_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestLegacyExpected checks the legacy Expected and ConditionalOperator
// parameters of PutItem, UpdateItem and DeleteItem (Developer Guide,
// "Expected (legacy)": Value alone is equality, Exists false is "the
// attribute does not exist", ComparisonOperator applies to
// AttributeValueList, elements are ANDed unless ConditionalOperator is OR;
// API reference ExpectedAttributeValue: "DynamoDB returns a
// ValidationException if: Exists is true but there is no Value to check
// ... Exists is false but you also provide a Value"), and that legacy and
// expression parameters do not mix (Developer Guide, "Legacy DynamoDB
// conditional parameters": "DynamoDB does not allow mixing legacy
// conditional parameters and expression parameters in a single call").
func TestLegacyExpected(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	createLeaseTable(t, c)
	key := av{"id": s("a")}
	if _, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": s("a"), "foo": s("bar"), "n": n("5")}}); err != nil {
		t.Fatal(err)
	}
	put := func(exp map[string]types.ExpectedAttributeValue, or bool) error {
		in := &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": s("a"), "foo": s("bar"), "n": n("5")}, Expected: exp}
		if or {
			in.ConditionalOperator = types.ConditionalOperatorOr
		}
		_, err := c.PutItem(ctx, in)
		return err
	}
	ok := []map[string]types.ExpectedAttributeValue{
		{"foo": {Value: s("bar")}},
		{"foo": {Value: s("bar"), Exists: aws.Bool(true)}},
		{"other": {Exists: aws.Bool(false)}},
		{"foo": {ComparisonOperator: types.ComparisonOperatorNotNull}},
		{"other": {ComparisonOperator: types.ComparisonOperatorNull}},
		{"foo": {ComparisonOperator: types.ComparisonOperatorNe, AttributeValueList: []types.AttributeValue{s("baz")}}},
		{"n": {ComparisonOperator: types.ComparisonOperatorBetween, AttributeValueList: []types.AttributeValue{n("1"), n("10")}}},
		{"foo": {ComparisonOperator: types.ComparisonOperatorBeginsWith, AttributeValueList: []types.AttributeValue{s("ba")}}},
		{"n": {ComparisonOperator: types.ComparisonOperatorIn, AttributeValueList: []types.AttributeValue{n("4"), n("5")}}},
		{"n": {ComparisonOperator: types.ComparisonOperatorGt, AttributeValueList: []types.AttributeValue{n("4")}}, "foo": {Value: s("bar")}},
	}
	for i, exp := range ok {
		if err := put(exp, false); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
	}
	failing := []map[string]types.ExpectedAttributeValue{
		{"foo": {Value: s("baz")}},
		{"foo": {Exists: aws.Bool(false)}},
		{"foo": {ComparisonOperator: types.ComparisonOperatorNull}},
		{"foo": {ComparisonOperator: types.ComparisonOperatorNe, AttributeValueList: []types.AttributeValue{s("bar")}}},
		{"n": {ComparisonOperator: types.ComparisonOperatorLt, AttributeValueList: []types.AttributeValue{n("5")}}},
		{"n": {ComparisonOperator: types.ComparisonOperatorGt, AttributeValueList: []types.AttributeValue{n("4")}}, "foo": {Value: s("baz")}},
	}
	for i, exp := range failing {
		if code, _ := apiCode(t, put(exp, false)); code != "ConditionalCheckFailedException" {
			t.Errorf("failing case %d: %s, want ConditionalCheckFailedException", i, code)
		}
	}
	// One true element is enough under OR.
	if err := put(failing[len(failing)-1], true); err != nil {
		t.Errorf("OR: %v", err)
	}
	invalid := []map[string]types.ExpectedAttributeValue{
		{"foo": {Exists: aws.Bool(true)}},
		{"foo": {Exists: aws.Bool(false), Value: s("bar")}},
		{"foo": {ComparisonOperator: types.ComparisonOperatorEq}},
	}
	for i, exp := range invalid {
		if code, _ := apiCode(t, put(exp, false)); code != "ValidationException" {
			t.Errorf("invalid case %d: %s, want ValidationException", i, code)
		}
	}

	// DeleteItem and UpdateItem (without UpdateExpression) take Expected.
	_, err := c.DeleteItem(ctx, &awsddb.DeleteItemInput{TableName: aws.String("leases"), Key: key, Expected: map[string]types.ExpectedAttributeValue{"foo": {Value: s("baz")}}})
	if code, _ := apiCode(t, err); code != "ConditionalCheckFailedException" {
		t.Errorf("DeleteItem: %s", code)
	}
	_, err = c.UpdateItem(ctx, &awsddb.UpdateItemInput{
		TableName: aws.String("leases"), Key: key,
		UpdateExpression:          aws.String("SET foo = :v"),
		ExpressionAttributeValues: av{":v": s("baz")},
		Expected:                  map[string]types.ExpectedAttributeValue{"foo": {Value: s("bar")}},
	})
	code, msg := apiCode(t, err)
	want := "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {UpdateExpression}"
	if code != "ValidationException" || msg != want {
		t.Errorf("UpdateItem mixing: %s %q, want ValidationException %q", code, msg, want)
	}
	if _, err := c.DeleteItem(ctx, &awsddb.DeleteItemInput{TableName: aws.String("leases"), Key: key, Expected: map[string]types.ExpectedAttributeValue{"foo": {Value: s("bar")}}}); err != nil {
		t.Errorf("DeleteItem: %v", err)
	}
}

// TestCreateTableOptions checks what DescribeTable reports of
// SSESpecification (API reference SSESpecification, Enabled: "If enabled
// (true), server-side encryption type is set to KMS and an AWS managed key
// is used"), StreamSpecification (API reference TableDescription,
// LatestStreamArn and LatestStreamLabel) and WarmThroughput (Developer
// Guide, "Understanding DynamoDB warm throughput in different scenarios":
// new on-demand tables start at 12,000 read and 4,000 write units per
// second).
func TestCreateTableOptions(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	create := func(name string, f func(*awsddb.CreateTableInput)) error {
		in := &awsddb.CreateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
			BillingMode:          types.BillingModePayPerRequest,
		}
		f(in)
		_, err := c.CreateTable(ctx, in)
		return err
	}
	describe := func(name string) *types.TableDescription {
		out, err := c.DescribeTable(ctx, &awsddb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Table
	}
	if err := create("plain", func(*awsddb.CreateTableInput) {}); err != nil {
		t.Fatal(err)
	}
	d := describe("plain")
	if d.SSEDescription != nil || d.StreamSpecification != nil || d.LatestStreamArn != nil {
		t.Errorf("plain table reports SSE %v, stream %v", d.SSEDescription, d.StreamSpecification)
	}
	if w := d.WarmThroughput; w == nil || aws.ToInt64(w.ReadUnitsPerSecond) != 12000 || aws.ToInt64(w.WriteUnitsPerSecond) != 4000 || w.Status != types.TableStatusActive {
		t.Errorf("on-demand warm throughput %+v, want 12000/4000 ACTIVE", w)
	}

	if err := create("sse", func(in *awsddb.CreateTableInput) {
		in.SSESpecification = &types.SSESpecification{Enabled: aws.Bool(true)}
	}); err != nil {
		t.Fatal(err)
	}
	sse := describe("sse").SSEDescription
	if sse == nil || sse.Status != types.SSEStatusEnabled || sse.SSEType != types.SSETypeKms || !strings.HasPrefix(aws.ToString(sse.KMSMasterKeyArn), "arn:aws:kms:us-east-1:123456789012:key/") {
		t.Errorf("SSEDescription %+v", sse)
	}

	if err := create("stream", func(in *awsddb.CreateTableInput) {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewAndOldImages}
	}); err != nil {
		t.Fatal(err)
	}
	d = describe("stream")
	if d.StreamSpecification == nil || d.StreamSpecification.StreamViewType != types.StreamViewTypeNewAndOldImages ||
		aws.ToString(d.LatestStreamArn) != aws.ToString(d.TableArn)+"/stream/"+aws.ToString(d.LatestStreamLabel) {
		t.Errorf("stream: %+v %q %q", d.StreamSpecification, aws.ToString(d.LatestStreamArn), aws.ToString(d.LatestStreamLabel))
	}
	err := create("stream2", func(in *awsddb.CreateTableInput) {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true)}
	})
	if code, _ := apiCode(t, err); code != "ValidationException" {
		t.Errorf("stream without view type: %s", code)
	}

	if err := create("warm", func(in *awsddb.CreateTableInput) {
		in.WarmThroughput = &types.WarmThroughput{ReadUnitsPerSecond: aws.Int64(15000), WriteUnitsPerSecond: aws.Int64(5000)}
	}); err != nil {
		t.Fatal(err)
	}
	if w := describe("warm").WarmThroughput; aws.ToInt64(w.ReadUnitsPerSecond) != 15000 || aws.ToInt64(w.WriteUnitsPerSecond) != 5000 {
		t.Errorf("warm throughput %+v", w)
	}
	err = create("cold", func(in *awsddb.CreateTableInput) {
		in.WarmThroughput = &types.WarmThroughput{ReadUnitsPerSecond: aws.Int64(12000), WriteUnitsPerSecond: aws.Int64(3000)}
	})
	if code, _ := apiCode(t, err); code != "ValidationException" {
		t.Errorf("warm throughput under the on-demand start: %s", code)
	}
}

// TestReturnConsumedCapacity checks ConsumedCapacity of the item
// operations (Developer Guide, "Read request units and write request
// units": an eventually consistent read of up to 4 KB is one-half read
// unit, a strongly consistent one a whole unit, a write of up to 1 KB one
// write unit; API reference ConsumedCapacity) and the parameter's enum.
func TestReturnConsumedCapacity(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	createLeaseTable(t, c)
	key := av{"id": s("a")}
	got, err := c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("leases"), Key: key, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if cc := got.ConsumedCapacity; cc == nil || aws.ToFloat64(cc.CapacityUnits) != 0.5 || aws.ToString(cc.TableName) != "leases" || cc.Table != nil {
		t.Errorf("eventually consistent read of no item: %+v", cc)
	}
	got, err = c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("leases"), Key: key, ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes})
	if err != nil {
		t.Fatal(err)
	}
	if cc := got.ConsumedCapacity; cc == nil || aws.ToFloat64(cc.CapacityUnits) != 1 || cc.Table == nil || aws.ToFloat64(cc.Table.CapacityUnits) != 1 {
		t.Errorf("strongly consistent read, INDEXES: %+v", cc)
	}
	big := strings.Repeat("x", 2500)
	put, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": s("a"), "v": s(big)}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if cc := put.ConsumedCapacity; cc == nil || aws.ToFloat64(cc.CapacityUnits) != 3 {
		t.Errorf("write of 2.5 KB: %+v, want 3 units", cc)
	}
	del, err := c.DeleteItem(ctx, &awsddb.DeleteItemInput{TableName: aws.String("leases"), Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if del.ConsumedCapacity != nil {
		t.Errorf("ConsumedCapacity %+v without ReturnConsumedCapacity", del.ConsumedCapacity)
	}
	_, err = c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: key, ReturnConsumedCapacity: "Garbage"})
	if code, msg := apiCode(t, err); code != "ValidationException" || !strings.Contains(msg, "[INDEXES, TOTAL, NONE]") {
		t.Errorf("ReturnConsumedCapacity Garbage: %s %q", code, msg)
	}
}
