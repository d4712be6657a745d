package dynamodb_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim/dynamodb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start serves a fresh Service on loopback and returns an SDK client with
// retries disabled, so every error reaches the test.
// start serves a DynamoDB with default options and returns a client for it.
func start(t *testing.T) *awsddb.Client {
	t.Helper()
	return clientOf(serve(t, dynamodb.Options{}), "")
}

// serve runs a DynamoDB with opts on a loopback server closed when the
// test ends.
func serve(t *testing.T, opts dynamodb.Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(dynamodb.New(opts).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// clientOf is an SDK client for srv, signing for region ("" keeps
// testenv.SDKConfig's).
func clientOf(srv *httptest.Server, region string) *awsddb.Client {
	cfg := testenv.SDKConfig(srv.Client())
	if region != "" {
		cfg.Region = region
	}
	return awsddb.NewFromConfig(cfg, func(o *awsddb.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

func apiCode(t *testing.T, err error) (string, string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an AWS API error", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

type av = map[string]types.AttributeValue

// avOpts compares SDK attribute values by content.
var avOpts = cmp.Exporter(func(reflect.Type) bool { return true })

func createLeaseTable(t *testing.T, c *awsddb.Client) {
	t.Helper()
	_, err := c.CreateTable(t.Context(), &awsddb.CreateTableInput{
		TableName:            aws.String("leases"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTables(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	out, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
		TableName: aws.String("tbl1"),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(5)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := out.TableDescription; d.TableStatus != types.TableStatusActive || *d.TableArn != "arn:aws:dynamodb:us-east-1:123456789012:table/tbl1" || len(d.KeySchema) != 2 {
		t.Errorf("CreateTable = %+v", d)
	}
	desc, err := c.DescribeTable(ctx, &awsddb.DescribeTableInput{TableName: aws.String("tbl1")})
	if err != nil {
		t.Fatal(err)
	}
	if *desc.Table.ProvisionedThroughput.ReadCapacityUnits != 5 || desc.Table.CreationDateTime == nil {
		t.Errorf("DescribeTable = %+v", desc.Table)
	}
	// API reference DescribeTable/PutItem/GetItem, TableName: the table's
	// ARN works in place of its name.
	if _, err := c.DescribeTable(ctx, &awsddb.DescribeTableInput{TableName: out.TableDescription.TableArn}); err != nil {
		t.Errorf("DescribeTable by ARN: %v", err)
	}
	if _, err := c.GetItem(ctx, &awsddb.GetItemInput{TableName: out.TableDescription.TableArn, Key: av{"pk": s("a"), "sk": n("1")}}); err != nil {
		t.Errorf("GetItem by ARN: %v", err)
	}
	waiter := awsddb.NewTableExistsWaiter(c)
	if err := waiter.Wait(ctx, &awsddb.DescribeTableInput{TableName: aws.String("tbl1")}, 5e9); err != nil {
		t.Errorf("TableExists waiter: %v", err)
	}

	tests := []struct {
		name string
		call func() error
		code string
		msg  string
	}{
		{
			name: "creating an existing table is ResourceInUseException",
			call: func() error {
				_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
					TableName:            aws.String("tbl1"),
					AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
					KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
					BillingMode:          types.BillingModePayPerRequest,
				})
				return err
			},
			code: "ResourceInUseException",
			msg:  "Table already exists: tbl1",
		},
		{
			name: "key schema and attribute definitions must match",
			call: func() error {
				_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
					TableName: aws.String("tbl2"),
					AttributeDefinitions: []types.AttributeDefinition{
						{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
						{AttributeName: aws.String("x"), AttributeType: types.ScalarAttributeTypeS},
					},
					KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
					BillingMode: types.BillingModePayPerRequest,
				})
				return err
			},
			code: "ValidationException",
			msg:  "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
		},
		{
			name: "provisioned tables need throughput",
			call: func() error {
				_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
					TableName:            aws.String("tbl3"),
					AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
					KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
				})
				return err
			},
			code: "ValidationException",
			msg:  "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
		},
		{
			// moto's aws_verified test_create_table__specify_non_key_column:
			// the schema's enumeration is checked first, indexes included.
			name: "a KeyType outside HASH and RANGE fails the schema",
			call: func() error {
				_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
					TableName:            aws.String("tbl4"),
					AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
					KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
					GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("g"), Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
						KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}, {AttributeName: aws.String("x"), KeyType: "SORT"}}}},
					BillingMode: types.BillingModePayPerRequest,
				})
				return err
			},
			code: "ValidationException",
			msg:  "1 validation error detected: Value 'SORT' at 'globalSecondaryIndexes.1.member.keySchema.2.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]",
		},
		{
			name: "a key attribute without a definition",
			call: func() error {
				_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
					TableName:            aws.String("tbl5"),
					AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
					KeySchema: []types.KeySchemaElement{
						{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
						{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
					},
					BillingMode: types.BillingModePayPerRequest,
				})
				return err
			},
			code: "ValidationException",
			msg:  "Invalid KeySchema: Some index key attribute have no definition",
		},
		{
			name: "more than two key attributes, quoted as DynamoDB quotes them",
			call: func() error {
				_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
					TableName:            aws.String("tbl6"),
					AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
					KeySchema: []types.KeySchemaElement{
						{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
						{AttributeName: aws.String("a"), KeyType: types.KeyTypeRange},
						{AttributeName: aws.String("b"), KeyType: types.KeyTypeRange},
					},
					BillingMode: types.BillingModePayPerRequest,
				})
				return err
			},
			code: "ValidationException",
			msg:  "1 validation error detected: Value '[KeySchemaElement(attributeName=pk, keyType=HASH), KeySchemaElement(attributeName=a, keyType=RANGE), KeySchemaElement(attributeName=b, keyType=RANGE)]' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2",
		},
		{
			name: "describing a missing table is ResourceNotFoundException",
			call: func() error {
				_, err := c.DescribeTable(ctx, &awsddb.DescribeTableInput{TableName: aws.String("nope")})
				return err
			},
			code: "ResourceNotFoundException",
			msg:  "Requested resource not found: Table: nope not found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := apiCode(t, tt.call())
			if code != tt.code || msg != tt.msg {
				t.Errorf("got %s %q, want %s %q", code, msg, tt.code, tt.msg)
			}
		})
	}

	// API reference CreateTable, DeletionProtectionEnabled: a protected
	// table "can't be deleted" until the flag is turned off.
	if _, err := c.CreateTable(ctx, &awsddb.CreateTableInput{
		TableName:                 aws.String("kept"),
		AttributeDefinitions:      []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:                 []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:               types.BillingModePayPerRequest,
		DeletionProtectionEnabled: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	if d, err := c.DescribeTable(ctx, &awsddb.DescribeTableInput{TableName: aws.String("kept")}); err != nil || !aws.ToBool(d.Table.DeletionProtectionEnabled) {
		t.Errorf("DescribeTable of a protected table: %v, DeletionProtectionEnabled false", err)
	}
	_, err = c.DeleteTable(ctx, &awsddb.DeleteTableInput{TableName: aws.String("kept")})
	if code, msg := apiCode(t, err); code != "ValidationException" || msg != "1 validation error detected: Table 'kept' can't be deleted while DeletionProtectionEnabled is set to True" {
		t.Errorf("DeleteTable of a protected table: %s %q", code, msg)
	}

	del, err := c.DeleteTable(ctx, &awsddb.DeleteTableInput{TableName: aws.String("tbl1")})
	if err != nil {
		t.Fatal(err)
	}
	if del.TableDescription.TableStatus != types.TableStatusDeleting {
		t.Errorf("DeleteTable status = %s, want DELETING", del.TableDescription.TableStatus)
	}
	_, err = c.DescribeTable(ctx, &awsddb.DescribeTableInput{TableName: aws.String("tbl1")})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Errorf("DescribeTable after delete: %v, want ResourceNotFoundException", err)
	}
	_, err = c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("tbl1"), Key: av{"pk": s("a"), "sk": n("1")}})
	if code, msg := apiCode(t, err); code != "ResourceNotFoundException" || msg != "Requested resource not found" {
		t.Errorf("GetItem on a deleted table: %s %q", code, msg)
	}
}

func TestItemsAllTypesRoundTrip(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	item := av{
		"id":   s("vip-1"),
		"n":    n("1.50"),
		"big":  n("12345678901234567890123456789012345678"),
		"b":    &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 255}},
		"ok":   &types.AttributeValueMemberBOOL{Value: true},
		"null": &types.AttributeValueMemberNULL{Value: true},
		"m":    &types.AttributeValueMemberM{Value: av{"x": s("y"), "e": &types.AttributeValueMemberM{Value: av{}}}},
		"l":    &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), n("2"), &types.AttributeValueMemberL{Value: []types.AttributeValue{}}}},
		"ss":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":   &types.AttributeValueMemberNS{Value: []string{"1", "2.0"}},
	}
	if _, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: item}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("leases"), Key: av{"id": s("vip-1")}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	// DynamoDB normalizes numbers: 1.50 reads back as 1.5, 2.0 as 2.
	item["n"] = n("1.5")
	item["ns"] = &types.AttributeValueMemberNS{Value: []string{"1", "2"}}
	if diff := cmp.Diff(item, got.Item, avOpts); diff != "" {
		t.Errorf("GetItem (-want +got):\n%s", diff)
	}
	missing, err := c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("leases"), Key: av{"id": s("nope")}})
	if err != nil || missing.Item != nil {
		t.Errorf("GetItem(missing) = %v, %v; want no item", missing.Item, err)
	}
	proj, err := c.GetItem(ctx, &awsddb.GetItemInput{
		TableName: aws.String("leases"), Key: av{"id": s("vip-1")},
		ProjectionExpression: aws.String("#n, m.x, l[1]"), ExpressionAttributeNames: map[string]string{"#n": "n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantProj := av{"n": n("1.5"), "m": &types.AttributeValueMemberM{Value: av{"x": s("y")}}, "l": &types.AttributeValueMemberL{Value: []types.AttributeValue{n("2")}}}
	if diff := cmp.Diff(wantProj, proj.Item, avOpts); diff != "" {
		t.Errorf("projection (-want +got):\n%s", diff)
	}
	// A path named twice, or with its prefix, overlaps (moto's
	// TestDuplicateProjectionExpressions).
	_, err = c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("leases"), Key: av{"id": s("vip-1")}, ProjectionExpression: aws.String("m, l, m.x")})
	if code, msg := apiCode(t, err); code != "ValidationException" || msg != "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, x]" {
		t.Errorf("overlapping projection: %s %q", code, msg)
	}
}

// TestLeaseSequence is the call sequence the dynamodb lease makes: acquire
// when free or expired, renew as holder, lose to a newer token, release.
func TestLeaseSequence(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	acquire := func(holder, now, expires string) (*awsddb.UpdateItemOutput, error) {
		return c.UpdateItem(ctx, &awsddb.UpdateItemInput{
			TableName:           aws.String("leases"),
			Key:                 av{"id": s("vip")},
			ConditionExpression: aws.String("attribute_not_exists(#o) OR #o = :me OR #exp < :now"),
			UpdateExpression:    aws.String("SET #o = :me, #exp = :exp, #tok = if_not_exists(#tok, :zero) + :one"),
			ExpressionAttributeNames: map[string]string{
				"#o": "owner", "#exp": "expires", "#tok": "token",
			},
			ExpressionAttributeValues: av{":me": s(holder), ":now": n(now), ":exp": n(expires), ":zero": n("0"), ":one": n("1")},
			ReturnValues:              types.ReturnValueAllNew,
		})
	}
	out, err := acquire("a", "100", "110")
	if err != nil {
		t.Fatal(err)
	}
	want := av{"id": s("vip"), "owner": s("a"), "expires": n("110"), "token": n("1")}
	if diff := cmp.Diff(want, out.Attributes, avOpts); diff != "" {
		t.Errorf("first acquire (-want +got):\n%s", diff)
	}
	_, err = acquire("b", "105", "115")
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) || *ccf.Message != "The conditional request failed" {
		t.Fatalf("acquire by b while a holds: %v, want ConditionalCheckFailedException", err)
	}
	// Numbers compare numerically: "99" < "110" although "99" > "110" as text.
	if _, err := acquire("b", "99", "120"); err == nil {
		t.Fatal("acquire at 99 succeeded although the lease expires at 110")
	}
	out, err = acquire("b", "111", "121")
	if err != nil {
		t.Fatalf("acquire after expiry: %v", err)
	}
	if got := out.Attributes["token"].(*types.AttributeValueMemberN).Value; got != "2" {
		t.Errorf("token after takeover = %s, want 2", got)
	}
	// Release only if still the holder, returning what was there.
	_, err = c.DeleteItem(ctx, &awsddb.DeleteItemInput{
		TableName: aws.String("leases"), Key: av{"id": s("vip")},
		ConditionExpression:      aws.String("#o = :me"),
		ExpressionAttributeNames: map[string]string{"#o": "owner"}, ExpressionAttributeValues: av{":me": s("a")},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if !errors.As(err, &ccf) || ccf.Item["owner"].(*types.AttributeValueMemberS).Value != "b" {
		t.Fatalf("release by a: %v, want ConditionalCheckFailedException carrying b's item", err)
	}
	del, err := c.DeleteItem(ctx, &awsddb.DeleteItemInput{
		TableName: aws.String("leases"), Key: av{"id": s("vip")},
		ConditionExpression:      aws.String("#o = :me"),
		ExpressionAttributeNames: map[string]string{"#o": "owner"}, ExpressionAttributeValues: av{":me": s("b")},
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := del.Attributes["token"].(*types.AttributeValueMemberN).Value; got != "2" {
		t.Errorf("DeleteItem ALL_OLD token = %s, want 2", got)
	}
}

func TestPutItemConditionsAndReturnValues(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	put := func(item av, cond string, vals av, rv types.ReturnValue) (*awsddb.PutItemOutput, error) {
		in := &awsddb.PutItemInput{TableName: aws.String("leases"), Item: item, ReturnValues: rv, ExpressionAttributeValues: vals}
		if cond != "" {
			in.ConditionExpression = aws.String(cond)
		}
		return c.PutItem(ctx, in)
	}
	if _, err := put(av{"id": s("k"), "v": n("1")}, "attribute_not_exists(id)", nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := put(av{"id": s("k"), "v": n("2")}, "attribute_not_exists(id)", nil, ""); err == nil {
		t.Fatal("second create-only put succeeded")
	}
	out, err := put(av{"id": s("k"), "v": n("2")}, "v BETWEEN :lo AND :hi AND v IN (:a, :b)", av{":lo": n("0"), ":hi": n("5"), ":a": n("1"), ":b": n("9")}, types.ReturnValueAllOld)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(av{"id": s("k"), "v": n("1")}, out.Attributes, avOpts); diff != "" {
		t.Errorf("ALL_OLD (-want +got):\n%s", diff)
	}
}

func TestUpdateExpressions(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	if _, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{
		"id": s("k"), "cnt": n("10"), "gone": s("x"),
		"m": &types.AttributeValueMemberM{Value: av{"a": n("1")}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("x"), s("y")}},
	}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		expr   string
		vals   av
		rv     types.ReturnValue
		want   av
		code   string
		msg    string
		cond   string
		noVals bool
	}{
		{
			name: "SET arithmetic, nested paths and REMOVE, UPDATED_NEW",
			expr: "SET cnt = cnt - :one, m.b = :two, l[0] = :z, l[9] = :end REMOVE gone",
			vals: av{":one": n("1"), ":two": n("2"), ":z": s("z"), ":end": s("end")},
			rv:   types.ReturnValueUpdatedNew,
			// Only the updated part of m (API reference UpdateItem,
			// ReturnValues UPDATED_NEW: "only the updated attributes").
			want: av{
				"cnt": n("9"),
				"m":   &types.AttributeValueMemberM{Value: av{"b": n("2")}},
				"l":   &types.AttributeValueMemberL{Value: []types.AttributeValue{s("z"), s("y"), s("end")}},
			},
		},
		{
			name: "REMOVE of list elements uses the indexes before the update",
			expr: "REMOVE l[0], l[2]",
			rv:   types.ReturnValueUpdatedNew,
			want: av{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("y")}}},
		},
		{
			name: "SET appends past the end of a list",
			expr: "SET l[1] = :y, l[7] = :end",
			vals: av{":y": s("y"), ":end": s("end")},
			rv:   types.ReturnValueUpdatedNew,
			want: av{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("y"), s("y"), s("end")}}},
		},
		{
			name: "ADD to a number and to a missing attribute, UPDATED_OLD",
			expr: "ADD cnt :five, fresh :five",
			vals: av{":five": n("5")},
			rv:   types.ReturnValueUpdatedOld,
			want: av{"cnt": n("9")},
		},
		{
			name: "list_append and if_not_exists, ALL_NEW",
			expr: "SET l = list_append(l, :more), alt = if_not_exists(alt, :d)",
			vals: av{":more": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("w")}}, ":d": s("d")},
			rv:   types.ReturnValueAllNew,
			want: av{
				"id": s("k"), "cnt": n("14"), "fresh": n("5"), "alt": s("d"),
				"m": &types.AttributeValueMemberM{Value: av{"a": n("1"), "b": n("2")}},
				"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("y"), s("y"), s("end"), s("w")}},
			},
		},
		{
			name: "a failed condition changes nothing",
			expr: "SET cnt = :one", vals: av{":one": n("1"), ":big": n("100")},
			cond: "cnt > :big",
			code: "ConditionalCheckFailedException", msg: "The conditional request failed",
		},
		{
			// DynamoDB names the type set last: "operator: ADD, operand
			// type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND" (Dynamoid's
			// spec/dynamoid/transaction_write/update_fields_spec.rb, for
			// an ADD of 'abc' to a number).
			name: "ADD of a string is a ValidationException",
			expr: "ADD cnt :s", vals: av{":s": s("x")},
			code: "ValidationException", msg: "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND",
		},
		{
			name: "DELETE of a number is a ValidationException",
			expr: "DELETE cnt :one", vals: av{":one": n("1")},
			code: "ValidationException", msg: "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND",
		},
		{
			name: "arithmetic on a string attribute fails",
			expr: "SET alt = alt + :one", vals: av{":one": n("1")},
			code: "ValidationException", msg: "An operand in the update expression has an incorrect data type",
		},
		{
			name: "the key cannot be updated",
			expr: "SET id = :v", vals: av{":v": s("x")},
			code: "ValidationException", msg: "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key",
		},
		{
			name: "overlapping paths are rejected",
			expr: "SET m = :v REMOVE m.a", vals: av{":v": s("x")},
			code: "ValidationException", msg: "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, a]",
		},
		{
			name: "a section twice is rejected",
			expr: "SET a = :v SET b = :v", vals: av{":v": s("x")},
			code: "ValidationException", msg: "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;",
		},
		{
			name: "an unused value is rejected",
			expr: "SET a = :v", vals: av{":v": s("x"), ":w": s("y")},
			code: "ValidationException", msg: "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}",
		},
		{
			name: "an undefined value is rejected",
			expr: "SET a = :nope", vals: av{":v": s("x")},
			code: "ValidationException", msg: "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :nope",
		},
		{
			name: "a reserved word needs a placeholder",
			expr: "SET owner = :v", vals: av{":v": s("x")},
			code: "ValidationException", msg: "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: owner",
		},
		{
			name: "a syntax error names the token",
			expr: "SET a = ", vals: av{":v": s("x")},
			code: "ValidationException", msg: "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \"=\"",
		},
		{
			name: "a path through a missing map is invalid for update",
			expr: "SET nope.x = :v", vals: av{":v": s("x")},
			code: "ValidationException", msg: "The document path provided in the update expression is invalid for update",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("leases"), Key: av{"id": s("k")}})
			if err != nil {
				t.Fatal(err)
			}
			in := &awsddb.UpdateItemInput{
				TableName: aws.String("leases"), Key: av{"id": s("k")},
				UpdateExpression: aws.String(tt.expr), ExpressionAttributeValues: tt.vals, ReturnValues: tt.rv,
			}
			if tt.cond != "" {
				in.ConditionExpression = aws.String(tt.cond)
			}
			out, err := c.UpdateItem(ctx, in)
			if tt.code != "" {
				code, msg := apiCode(t, err)
				if code != tt.code || msg != tt.msg {
					t.Errorf("got %s %q\nwant %s %q", code, msg, tt.code, tt.msg)
				}
				after, err := c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("leases"), Key: av{"id": s("k")}})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(before.Item, after.Item, avOpts); diff != "" {
					t.Errorf("a failed update changed the item (-before +after):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.Attributes, avOpts); diff != "" {
				t.Errorf("Attributes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConditionExpressions(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	if _, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{
		"id": s("k"), "num": n("10"), "str": s("hello"), "flag": &types.AttributeValueMemberBOOL{Value: true},
		"m": &types.AttributeValueMemberM{Value: av{"in": s("x")}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), n("1")}},
	}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cond string
		vals av
		want bool   // condition holds
		msg  string // ValidationException message, if any
	}{
		{cond: "num = :v", vals: av{":v": n("10.0")}, want: true},
		{cond: "num <> :v", vals: av{":v": n("10")}, want: false},
		{cond: "absent <> :v", vals: av{":v": n("10")}, want: true},
		{cond: "absent = :v", vals: av{":v": n("10")}, want: false},
		{cond: "num < :v", vals: av{":v": n("9.5")}, want: false},
		{cond: "num <= :v", vals: av{":v": n("10")}, want: true},
		{cond: "num > :v", vals: av{":v": n("-1e2")}, want: true},
		{cond: "num >= :v", vals: av{":v": s("10")}, want: false},
		{cond: "str > :v", vals: av{":v": s("hell")}, want: true},
		{cond: "flag = :v", vals: av{":v": &types.AttributeValueMemberBOOL{Value: true}}, want: true},
		{cond: "NOT (num = :v OR str = :w) AND attribute_exists(m.#in)", vals: av{":v": n("1"), ":w": s("x")}, want: true},
		{cond: "num BETWEEN :a AND :b", vals: av{":a": n("10"), ":b": n("11")}, want: true},
		{cond: "str IN (:a, :b)", vals: av{":a": s("x"), ":b": s("hello")}, want: true},
		{cond: "begins_with(str, :p) and contains(l, :one) AND size(str) = :five", vals: av{":p": s("he"), ":one": n("1"), ":five": n("5")}, want: true},
		{cond: "attribute_type(flag, :t)", vals: av{":t": s("BOOL")}, want: true},
		{cond: "attribute_not_exists(l[2])", want: true},
		{cond: "num < :v", vals: av{":v": &types.AttributeValueMemberBOOL{Value: true}}, msg: "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: BOOL"},
		{cond: "num = ", vals: av{":v": n("1")}, msg: "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"=\""},
		// near: the expression's text from the token before the bad one to
		// the token after it (moto's
		// test_update_expression_with_multiple_set_clauses_must_be_comma_separated,
		// "near: myNum Mystr2 myNum2"; 'token: "-", near: "a-type"' in the
		// DynamoDB answer quoted in airbytehq/airbyte issue 22508), as
		// written.
		{cond: "num == :v", vals: av{":v": n("1")}, msg: "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"== :v\""},
		{cond: "num  =  = :v", vals: av{":v": n("1")}, msg: "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"=  = :v\""},
		{cond: "3um = :v", vals: av{":v": n("1")}, msg: "Invalid ConditionExpression: Syntax error; token: \"3\", near: \"3um\""},
		{cond: "frob(num)", msg: "Invalid ConditionExpression: Invalid function name; function: frob"},
		{cond: "if_not_exists(num, :v)", vals: av{":v": n("1")}, msg: "Invalid ConditionExpression: The function is not allowed in a condition expression; function: if_not_exists"},
		{cond: "attribute_exists(:v)", vals: av{":v": n("1")}, msg: "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"},
		{cond: "attribute_exists(#x)", msg: "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x"},
		{cond: "num BETWEEN :b AND :a", vals: av{":a": n("1"), ":b": n("2")}, msg: "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"},
		{cond: "(num = :v", vals: av{":v": n("1")}, msg: "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \":v\""},
		// moto's test_condition_expression_parentheses_behavior ("AWS DDB
		// fails this"): parentheses directly around parentheses.
		{cond: "((num = :v))", vals: av{":v": n("10")}, msg: "Invalid ConditionExpression: The expression has redundant parentheses;"},
		{cond: "((num = :v) OR (str = :w) AND (num = :v))", vals: av{":v": n("10"), ":w": s("x")}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			names := map[string]string{"#in": "in"}
			if tt.cond != "NOT (num = :v OR str = :w) AND attribute_exists(m.#in)" {
				names = nil
			}
			_, err := c.UpdateItem(ctx, &awsddb.UpdateItemInput{
				TableName: aws.String("leases"), Key: av{"id": s("k")},
				ConditionExpression: aws.String(tt.cond), ExpressionAttributeValues: tt.vals, ExpressionAttributeNames: names,
			})
			switch {
			case tt.msg != "":
				code, msg := apiCode(t, err)
				if code != "ValidationException" || msg != tt.msg {
					t.Errorf("got %s %q\nwant ValidationException %q", code, msg, tt.msg)
				}
			case tt.want && err != nil:
				t.Errorf("condition should hold: %v", err)
			case !tt.want:
				var ccf *types.ConditionalCheckFailedException
				if !errors.As(err, &ccf) {
					t.Errorf("condition should fail with ConditionalCheckFailedException, got %v", err)
				}
			}
		})
	}
}

func TestKeyValidation(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	tests := []struct {
		name string
		call func() error
		msg  string
	}{
		{"an item without its key", func() error {
			_, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"x": s("y")}})
			return err
		}, "One or more parameter values were invalid: Missing the key id in the item"},
		{"a key of the wrong type", func() error {
			_, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": n("1")}})
			return err
		}, "One or more parameter values were invalid: Type mismatch for key id expected: S actual: N"},
		// An item's empty key and a Key parameter's are worded apart (moto's
		// test_item_add_empty_string_hash_key_exception and
		// test_item_add_empty_key_exception).
		{"an empty string key in an item", func() error {
			_, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": s("")}})
			return err
		}, "One or more parameter values were invalid: An AttributeValue may not contain an empty string. Key: id"},
		{"an empty string in a Key", func() error {
			_, err := c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("leases"), Key: av{"id": s("")}})
			return err
		}, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: id"},
		// Developer Guide, "Quotas": a partition key value is at most 2048
		// bytes (the message's missing space is DynamoDB's, per moto's
		// aws_verified test_update_item_with_long_string_hash_key_exception).
		{"a partition key over 2048 bytes", func() error {
			_, err := c.UpdateItem(ctx, &awsddb.UpdateItemInput{TableName: aws.String("leases"), Key: av{"id": s(strings.Repeat("x", 2049))},
				UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: av{":v": s("x")}})
			return err
		}, "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"},
		{"a number with a leading space", func() error {
			_, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": s("a"), "v": n(" 1.23")}})
			return err
		}, "The parameter cannot be converted to a numeric value:  1.23"},
		// moto's aws_verified test_put_item_empty_set and
		// test_update_item_unused_attributes.
		{"an empty number set", func() error {
			_, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": s("a"), "v": &types.AttributeValueMemberNS{Value: []string{}}}})
			return err
		}, "One or more parameter values were invalid: An number set  may not be empty"},
		{"an invalid expression attribute value names its placeholder", func() error {
			_, err := c.UpdateItem(ctx, &awsddb.UpdateItemInput{TableName: aws.String("leases"), Key: av{"id": s("a")},
				UpdateExpression: aws.String("ADD v :one"), ExpressionAttributeValues: av{":one": &types.AttributeValueMemberNS{Value: []string{}}}})
			return err
		}, "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: An number set  may not be empty for key :one"},
		// moto's aws_verified test_update_item_with_empty_values: emptiness
		// is reported before the undefined placeholder.
		{"empty expression attribute values", func() error {
			_, err := c.UpdateItem(ctx, &awsddb.UpdateItemInput{TableName: aws.String("leases"), Key: av{"id": s("a")},
				UpdateExpression: aws.String("SET v = :s"), ExpressionAttributeValues: av{}})
			return err
		}, "ExpressionAttributeValues must not be empty"},
		{"a Key with an extra attribute", func() error {
			_, err := c.GetItem(ctx, &awsddb.GetItemInput{TableName: aws.String("leases"), Key: av{"id": s("a"), "x": s("b")}})
			return err
		}, "The provided key element does not match the schema"},
		{"a number that is not one", func() error {
			_, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": s("a"), "v": n("12abc")}})
			return err
		}, "The parameter cannot be converted to a numeric value: 12abc"},
		{"ReturnValues that PutItem does not offer", func() error {
			_, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": s("a")}, ReturnValues: types.ReturnValueAllNew})
			return err
		}, "Return values set to invalid value"},
		{"values without an expression", func() error {
			_, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("leases"), Item: av{"id": s("a")}, ExpressionAttributeValues: av{":v": s("x")}})
			return err
		}, "ExpressionAttributeValues can only be specified when using expressions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := apiCode(t, tt.call())
			if code != "ValidationException" || msg != tt.msg {
				t.Errorf("got %s %q\nwant ValidationException %q", code, msg, tt.msg)
			}
		})
	}
}

// A condition failure that returns the old item (ALL_OLD) spells its
// message "Message", one without "message", as DynamoDB answers them
// (recorded against AWS by moto's aws_verified
// TestReturnValuesOnConditionCheckFailure); the SDKs then carry the
// message only as the error's.
func TestConditionFailureMessageKey(t *testing.T) {
	ctx := t.Context()
	srv := serve(t, dynamodb.Options{})
	raw := func(t *testing.T, body string) map[string]any {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem")
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	create := `{"TableName":"tbl","KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(create))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.CreateTable")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	if resp, err := srv.Client().Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	raw(t, `{"TableName":"tbl","Item":{"id":{"S":"k"},"v":{"S":"1"}}}`)
	with := raw(t, `{"TableName":"tbl","Item":{"id":{"S":"k"}},"ConditionExpression":"attribute_not_exists(id)","ReturnValuesOnConditionCheckFailure":"ALL_OLD"}`)
	if _, ok := with["message"]; ok || with["Message"] != "The conditional request failed" || with["Item"] == nil {
		t.Errorf("failure with ALL_OLD = %v, want Message and Item, no message", with)
	}
	without := raw(t, `{"TableName":"tbl","Item":{"id":{"S":"k"}},"ConditionExpression":"attribute_not_exists(id)"}`)
	if without["message"] != "The conditional request failed" || without["Item"] != nil {
		t.Errorf("failure without ALL_OLD = %v, want message and no Item", without)
	}
}
