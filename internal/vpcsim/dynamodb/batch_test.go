package dynamodb_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

func TestBatchWriteAndGetItem(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	putLease(t, c, av{"id": s("old")})
	out, err := c.BatchWriteItem(ctx, &awsddb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{
		"leases": {
			{PutRequest: &types.PutRequest{Item: av{"id": s("a"), "v": n("1")}}},
			{PutRequest: &types.PutRequest{Item: av{"id": s("b"), "v": n("2")}}},
			{DeleteRequest: &types.DeleteRequest{Key: av{"id": s("old")}}},
		},
	}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		t.Fatal(err)
	}
	// API reference BatchWriteItem, UnprocessedItems: "If all requested
	// items were processed ... the map is empty" (AWS CLI reference,
	// batch-write-item: "UnprocessedItems": {}).
	if len(out.UnprocessedItems) != 0 || out.UnprocessedItems == nil {
		t.Errorf("UnprocessedItems %v, want an empty map", out.UnprocessedItems)
	}
	if len(out.ConsumedCapacity) != 1 || aws.ToFloat64(out.ConsumedCapacity[0].CapacityUnits) != 3 {
		t.Errorf("ConsumedCapacity %+v, want 3 units on one table", out.ConsumedCapacity)
	}
	got, err := c.BatchGetItem(ctx, &awsddb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		"leases": {Keys: []av{{"id": s("a")}, {"id": s("b")}, {"id": s("old")}}, ProjectionExpression: aws.String("#v"), ExpressionAttributeNames: map[string]string{"#v": "v"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	items := got.Responses["leases"]
	if len(items) != 2 {
		t.Fatalf("BatchGetItem returned %d items, want 2 (the deleted one is gone)", len(items))
	}
	vs := map[string]bool{}
	for _, it := range items {
		if len(it) != 1 {
			t.Errorf("projected item %v has more than v", it)
		}
		vs[it["v"].(*types.AttributeValueMemberN).Value] = true
	}
	if !vs["1"] || !vs["2"] {
		t.Errorf("items %v, want v 1 and 2", items)
	}
}

func TestBatchValidation(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	keys := func(n int) []av {
		out := make([]av, n)
		for i := range out {
			out[i] = av{"id": s(fmt.Sprint(i))}
		}
		return out
	}
	puts := func(n int) []types.WriteRequest {
		out := make([]types.WriteRequest, n)
		for i := range out {
			out[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: av{"id": s(fmt.Sprint(i))}}}
		}
		return out
	}
	get := func(ka map[string]types.KeysAndAttributes) error {
		_, err := c.BatchGetItem(ctx, &awsddb.BatchGetItemInput{RequestItems: ka})
		return err
	}
	write := func(rs map[string][]types.WriteRequest) error {
		_, err := c.BatchWriteItem(ctx, &awsddb.BatchWriteItemInput{RequestItems: rs})
		return err
	}
	cases := []struct {
		name string
		err  error
		code string
		msg  string
	}{
		// API reference BatchGetItem: "as many as 100 items".
		{"101 keys", get(map[string]types.KeysAndAttributes{"leases": {Keys: keys(101)}}), "ValidationException",
			"1 validation error detected: Value at 'requestItems.leases.member.keys' failed to satisfy constraint: Member must have length less than or equal to 100"},
		{"duplicate get", get(map[string]types.KeysAndAttributes{"leases": {Keys: []av{{"id": s("a")}, {"id": s("a")}}}}), "ValidationException",
			"Provided list of item keys contains duplicates"},
		// Duplicates are found by the key attributes' values as given,
		// before the schema check: keys without the partition key
		// (dynamoose/dynamoose issue 1383) or with a NULL key value
		// (Dynamoid/dynamoid issue 510) are duplicates.
		{"duplicate get without the key", get(map[string]types.KeysAndAttributes{"leases": {Keys: []av{{"other": s("a")}, {"other": s("b")}}}}), "ValidationException",
			"Provided list of item keys contains duplicates"},
		{"duplicate get with NULL keys", get(map[string]types.KeysAndAttributes{"leases": {Keys: []av{{"id": &types.AttributeValueMemberNULL{Value: true}}, {"id": &types.AttributeValueMemberNULL{Value: true}}}}}), "ValidationException",
			"Provided list of item keys contains duplicates"},
		{"duplicate puts without the key", write(map[string][]types.WriteRequest{"leases": {{PutRequest: &types.PutRequest{Item: av{"x": s("a")}}}, {PutRequest: &types.PutRequest{Item: av{"x": s("a")}}}}}),
			"ValidationException", "Provided list of item keys contains duplicates"},
		{"duplicate deletes with a wrong key", write(map[string][]types.WriteRequest{"leases": {{DeleteRequest: &types.DeleteRequest{Key: av{"x": s("a")}}}, {DeleteRequest: &types.DeleteRequest{Key: av{"x": s("a")}}}}}),
			"ValidationException", "Provided list of item keys contains duplicates"},
		{"get missing table", get(map[string]types.KeysAndAttributes{"nope": {Keys: keys(1)}}), "ResourceNotFoundException", "Requested resource not found"},
		{"get bad key", get(map[string]types.KeysAndAttributes{"leases": {Keys: []av{{"other": s("a")}}}}), "ValidationException",
			"The provided key element does not match the schema"},
		// API reference BatchWriteItem: DynamoDB rejects the entire batch
		// when "There are more than 25 requests in the batch".
		{"26 writes", write(map[string][]types.WriteRequest{"leases": puts(26)}), "ValidationException",
			"1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"},
		// "You try to perform multiple operations on the same item in the
		// same BatchWriteItem request".
		{"put and delete one item", write(map[string][]types.WriteRequest{"leases": {puts(1)[0], {DeleteRequest: &types.DeleteRequest{Key: av{"id": s("0")}}}}}),
			"ValidationException", "Provided list of item keys contains duplicates"},
		// "One or more tables specified in the BatchWriteItem request does
		// not exist".
		{"write missing table", write(map[string][]types.WriteRequest{"leases": puts(1), "nope": puts(1)}), "ResourceNotFoundException", "Requested resource not found"},
		// "Primary key attributes specified on an item in the request do
		// not match those in the corresponding table's primary key schema".
		{"empty key", write(map[string][]types.WriteRequest{"leases": {{PutRequest: &types.PutRequest{Item: av{"id": s("")}}}}}), "ValidationException",
			"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: id"},
		// "Any individual item in a batch exceeds 400 KB".
		{"large item", write(map[string][]types.WriteRequest{"leases": {{PutRequest: &types.PutRequest{Item: av{"id": s("big"), "x": s(strings.Repeat("x", 410*1024))}}}}}),
			"ValidationException", "Item size has exceeded the maximum allowed size"},
	}
	for _, tc := range cases {
		if code, msg := apiCode(t, tc.err); code != tc.code || msg != tc.msg {
			t.Errorf("%s: %s %q, want %s %q", tc.name, code, msg, tc.code, tc.msg)
		}
	}
	if getLease(t, c, "0") != nil {
		t.Error("a refused batch wrote an item")
	}
}

// API reference BatchGetItem: "A single operation can retrieve up to 16
// MB of data"; past it "BatchGetItem returns a partial result ... and
// returns an appropriate UnprocessedKeys value so you can get the next
// page of results".
func TestBatchGetItemUnprocessedKeys(t *testing.T) {
	c := start(t)
	createLeaseTable(t, c)
	ctx := t.Context()
	big := strings.Repeat("x", 300_000)
	var ks []av
	for i := range 60 {
		id := fmt.Sprintf("k%02d", i)
		putLease(t, c, av{"id": s(id), "x": s(big)})
		ks = append(ks, av{"id": s(id)})
	}
	var seen int
	req := map[string]types.KeysAndAttributes{"leases": {Keys: ks, ConsistentRead: aws.Bool(true)}}
	for pages := 0; len(req) > 0; pages++ {
		if pages == 3 {
			t.Fatal("still unprocessed keys after 3 pages")
		}
		out, err := c.BatchGetItem(ctx, &awsddb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			t.Fatal(err)
		}
		n := len(out.Responses["leases"])
		if pages == 0 && (n == 0 || n*300_000 > 16<<20 || len(out.UnprocessedKeys["leases"].Keys) != 60-n) {
			t.Errorf("first page: %d items, %d unprocessed keys", n, len(out.UnprocessedKeys["leases"].Keys))
		}
		seen += n
		req = out.UnprocessedKeys
	}
	if diff := cmp.Diff(60, seen); diff != "" {
		t.Errorf("items over all pages (-want +got):\n%s", diff)
	}
}
