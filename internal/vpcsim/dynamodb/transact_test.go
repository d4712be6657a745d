package dynamodb_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

func getLease(t *testing.T, c *awsddb.Client, id string) av {
	t.Helper()
	out, err := c.GetItem(t.Context(), &awsddb.GetItemInput{TableName: aws.String("leases"), Key: av{"id": s(id)}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func putLease(t *testing.T, c *awsddb.Client, item av) {
	t.Helper()
	if _, err := c.PutItem(t.Context(), &awsddb.PutItemInput{TableName: aws.String("leases"), Item: item}); err != nil {
		t.Fatal(err)
	}
}

// API reference TransactWriteItems: "The actions are completed atomically
// so that either all of them succeed, or all of them fail"; a canceled
// transaction answers TransactionCanceledException with one
// CancellationReason per action, Code None for those that did not fail,
// and with ReturnValuesOnConditionCheckFailure ALL_OLD the item that
// failed the condition.
func TestTransactWriteItemsAllOrNothing(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	putLease(t, c, av{"id": s("a"), "v": n("1")})
	putLease(t, c, av{"id": s("gone"), "v": n("0")})

	actions := func(cond string) []types.TransactWriteItem {
		return []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String("leases"), Item: av{"id": s("new")}}},
			{Update: &types.Update{TableName: aws.String("leases"), Key: av{"id": s("a")},
				UpdateExpression: aws.String("SET v = v + :one"), ConditionExpression: aws.String(cond),
				ExpressionAttributeValues: av{":one": n("1")}, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
			{Delete: &types.Delete{TableName: aws.String("leases"), Key: av{"id": s("gone")}}},
			{ConditionCheck: &types.ConditionCheck{TableName: aws.String("leases"), Key: av{"id": s("absent")},
				ConditionExpression: aws.String("attribute_not_exists(id)")}},
		}
	}
	_, err := c.TransactWriteItems(ctx, &awsddb.TransactWriteItemsInput{TransactItems: actions("v <> :one")})
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		t.Fatalf("failed condition: %v, want TransactionCanceledException", err)
	}
	if got, want := tc.ErrorMessage(), "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None, None]"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	var codes []string
	for _, r := range tc.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	if diff := cmp.Diff([]string{"None", "ConditionalCheckFailed", "None", "None"}, codes); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(av{"id": s("a"), "v": n("1")}, tc.CancellationReasons[1].Item, avOpts); diff != "" {
		t.Errorf("ALL_OLD item (-want +got):\n%s", diff)
	}
	if getLease(t, c, "new") != nil || getLease(t, c, "gone") == nil {
		t.Fatal("a canceled transaction wrote some of its actions")
	}

	out, err := c.TransactWriteItems(ctx, &awsddb.TransactWriteItemsInput{TransactItems: actions("v = :one"), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if getLease(t, c, "new") == nil || getLease(t, c, "gone") != nil {
		t.Error("the transaction did not write all its actions")
	}
	if diff := cmp.Diff(av{"id": s("a"), "v": n("2")}, getLease(t, c, "a"), avOpts); diff != "" {
		t.Errorf("updated item (-want +got):\n%s", diff)
	}
	// Developer Guide, "Capacity management for transactions": two write
	// units per 1 KB for each of the four actions.
	if len(out.ConsumedCapacity) != 1 || aws.ToFloat64(out.ConsumedCapacity[0].WriteCapacityUnits) != 8 {
		t.Errorf("ConsumedCapacity %+v, want one table with 8 write units", out.ConsumedCapacity)
	}
}

func TestTransactWriteItemsValidation(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	put := func(id string) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String("leases"), Item: av{"id": s(id)}}}
	}
	many := make([]types.TransactWriteItem, 101)
	for i := range many {
		many[i] = put(fmt.Sprint(i))
	}
	cases := []struct {
		name  string
		items []types.TransactWriteItem
		code  string
		msg   string
	}{
		// API reference TransactWriteItems, TransactItems: "An ordered
		// array of up to 100 TransactWriteItem objects".
		{"101 actions", many, "ValidationException", "1 validation error detected at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100."},
		// "no two of them can operate on the same item".
		{"same item twice", []types.TransactWriteItem{put("x"), {Delete: &types.Delete{TableName: aws.String("leases"), Key: av{"id": s("x")}}}},
			"ValidationException", "Transaction request cannot include multiple operations on one item"},
		// TransactWriteItem: "A list of requests that can perform update,
		// put, delete, or check operations" — one per element.
		{"two operations in one", []types.TransactWriteItem{{Put: put("y").Put, Delete: &types.Delete{TableName: aws.String("leases"), Key: av{"id": s("y")}}}},
			"ValidationException", "TransactItems can only contain one of Check, Put, Update or Delete"},
		{"missing table", []types.TransactWriteItem{put("z"), {Put: &types.Put{TableName: aws.String("nope"), Item: av{"id": s("z")}}}},
			"ResourceNotFoundException", "Requested resource not found"},
		{"unused value", []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String("leases"), Item: av{"id": s("z")},
			ConditionExpression: aws.String("attribute_not_exists(id)"), ExpressionAttributeValues: av{":x": n("1")}}}},
			"ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}"},
	}
	for _, tc := range cases {
		_, err := c.TransactWriteItems(ctx, &awsddb.TransactWriteItemsInput{TransactItems: tc.items})
		if code, msg := apiCode(t, err); code != tc.code || msg != tc.msg {
			t.Errorf("%s: %s %q, want %s %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
	if getLease(t, c, "0") != nil || getLease(t, c, "x") != nil || getLease(t, c, "z") != nil {
		t.Error("a refused transaction wrote an item")
	}
}

// API reference TransactWriteItems, ClientRequestToken: "multiple
// identical calls have the same effect as one single call"; "If you
// submit a request with the same client token but a change in other
// parameters within the 10-minute idempotency window, DynamoDB returns an
// IdempotentParameterMismatch exception."
func TestTransactWriteItemsClientRequestToken(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	putLease(t, c, av{"id": s("a"), "v": n("1")})
	incr := func(by string) *awsddb.TransactWriteItemsInput {
		return &awsddb.TransactWriteItemsInput{ClientRequestToken: aws.String("tok-1"), TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: aws.String("leases"), Key: av{"id": s("a")},
				UpdateExpression: aws.String("SET v = v + :by"), ExpressionAttributeValues: av{":by": n(by)}}},
		}}
	}
	for range 3 {
		if _, err := c.TransactWriteItems(ctx, incr("1")); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(av{"id": s("a"), "v": n("2")}, getLease(t, c, "a"), avOpts); diff != "" {
		t.Errorf("after three identical calls (-want +got):\n%s", diff)
	}
	_, err := c.TransactWriteItems(ctx, incr("5"))
	if code, _ := apiCode(t, err); code != "IdempotentParameterMismatchException" {
		t.Errorf("changed request with the same token: %s, want IdempotentParameterMismatchException", code)
	}
}

// API reference TransactGetItems: Responses is "An ordered array of up to
// 100 ItemResponse objects, each of which corresponds to the
// TransactGetItem object in the same position"; "If a requested item
// could not be retrieved, the corresponding ItemResponse object is
// Null".
func TestTransactGetItems(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	putLease(t, c, av{"id": s("a"), "v": n("1"), "w": s("x")})
	out, err := c.TransactGetItems(ctx, &awsddb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: aws.String("leases"), Key: av{"id": s("a")}, ProjectionExpression: aws.String("v")}},
		{Get: &types.Get{TableName: aws.String("leases"), Key: av{"id": s("b")}}},
	}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Responses) != 2 || out.Responses[1].Item != nil {
		t.Fatalf("Responses %+v, want two, the second without an item", out.Responses)
	}
	if diff := cmp.Diff(av{"v": n("1")}, out.Responses[0].Item, avOpts); diff != "" {
		t.Errorf("projected item (-want +got):\n%s", diff)
	}
	// Two read units per 4 KB for each transactional read.
	if len(out.ConsumedCapacity) != 1 || aws.ToFloat64(out.ConsumedCapacity[0].ReadCapacityUnits) != 4 {
		t.Errorf("ConsumedCapacity %+v, want one table with 4 read units", out.ConsumedCapacity)
	}
	many := make([]types.TransactGetItem, 101)
	for i := range many {
		many[i] = types.TransactGetItem{Get: &types.Get{TableName: aws.String("leases"), Key: av{"id": s(fmt.Sprint(i))}}}
	}
	if _, err := c.TransactGetItems(ctx, &awsddb.TransactGetItemsInput{TransactItems: many[:100]}); err != nil {
		t.Errorf("100 gets: %v", err)
	}
	_, err = c.TransactGetItems(ctx, &awsddb.TransactGetItemsInput{TransactItems: many})
	if code, _ := apiCode(t, err); code != "ValidationException" {
		t.Errorf("101 gets: %s, want ValidationException", code)
	}
}
