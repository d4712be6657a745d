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

func b(v string) types.AttributeValue { return &types.AttributeValueMemberB{Value: []byte(v)} }

func attrDefs(defs ...string) []types.AttributeDefinition {
	var out []types.AttributeDefinition
	for i := 0; i < len(defs); i += 2 {
		out = append(out, types.AttributeDefinition{AttributeName: aws.String(defs[i]), AttributeType: types.ScalarAttributeType(defs[i+1])})
	}
	return out
}

func keySchema(hash string, rng ...string) []types.KeySchemaElement {
	ks := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
	for _, r := range rng {
		ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(r), KeyType: types.KeyTypeRange})
	}
	return ks
}

// createIndexed makes table "tbl": pk (S) and sk (N), a GSI "by_g" on g (S)
// and gs (N) projecting KEYS_ONLY plus "x", and an LSI "by_l" on pk and l
// (S) projecting KEYS_ONLY.
func createIndexed(t *testing.T, c *awsddb.Client) {
	t.Helper()
	_, err := c.CreateTable(t.Context(), &awsddb.CreateTableInput{
		TableName:            aws.String("tbl"),
		AttributeDefinitions: attrDefs("pk", "S", "sk", "N", "g", "S", "gs", "N", "l", "S"),
		KeySchema:            keySchema("pk", "sk"),
		BillingMode:          types.BillingModePayPerRequest,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String("by_g"), KeySchema: keySchema("g", "gs"),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: []string{"x"}},
		}},
		LocalSecondaryIndexes: []types.LocalSecondaryIndex{{
			IndexName: aws.String("by_l"), KeySchema: keySchema("pk", "l"),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func put(t *testing.T, c *awsddb.Client, table string, it av) {
	t.Helper()
	if _, err := c.PutItem(t.Context(), &awsddb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
		t.Fatal(err)
	}
}

// TestCreateTableIndexes: CreateTable accepts GSIs and LSIs and
// DescribeTable reports them (API reference GlobalSecondaryIndexDescription
// and LocalSecondaryIndexDescription: IndexName, KeySchema, Projection,
// IndexStatus, ProvisionedThroughput, IndexSizeBytes, ItemCount, IndexArn).
func TestCreateTableIndexes(t *testing.T) {
	c := start(t)
	createIndexed(t, c)
	put(t, c, "tbl", av{"pk": s("a"), "sk": n("1"), "g": s("G"), "gs": n("5"), "x": s("X"), "y": s("Y")})
	put(t, c, "tbl", av{"pk": s("a"), "sk": n("2"), "l": s("L")})
	out, err := c.DescribeTable(t.Context(), &awsddb.DescribeTableInput{TableName: aws.String("tbl")})
	if err != nil {
		t.Fatal(err)
	}
	g := out.Table.GlobalSecondaryIndexes
	if len(g) != 1 || *g[0].IndexName != "by_g" || g[0].IndexStatus != types.IndexStatusActive || *g[0].ItemCount != 1 ||
		*g[0].IndexArn != *out.Table.TableArn+"/index/by_g" || *g[0].ProvisionedThroughput.ReadCapacityUnits != 0 {
		t.Errorf("GlobalSecondaryIndexes = %+v", g)
	}
	// The GSI holds only the item with both of its keys (sparse index).
	l := out.Table.LocalSecondaryIndexes
	if len(l) != 1 || *l[0].IndexName != "by_l" || *l[0].ItemCount != 1 || l[0].Projection.ProjectionType != types.ProjectionTypeKeysOnly {
		t.Errorf("LocalSecondaryIndexes = %+v", l)
	}
}

// TestCreateTableIndexErrors: the checks DynamoDB applies to indexes.
func TestCreateTableIndexErrors(t *testing.T) {
	c := start(t)
	gsi := func(name string, p *types.Projection, pt *types.ProvisionedThroughput) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{IndexName: aws.String(name), KeySchema: keySchema("g"), Projection: p, ProvisionedThroughput: pt}
	}
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	for _, tc := range []struct {
		name string
		in   awsddb.CreateTableInput
		msg  string
	}{{
		// Developer Guide, "Local secondary indexes": "A local secondary
		// index has the same partition key as its base table, but a
		// different sort key."
		name: "lsi on hash-only table",
		in: awsddb.CreateTableInput{AttributeDefinitions: attrDefs("pk", "S", "l", "S"), KeySchema: keySchema("pk"), BillingMode: types.BillingModePayPerRequest,
			LocalSecondaryIndexes: []types.LocalSecondaryIndex{{IndexName: aws.String("lsi"), KeySchema: keySchema("pk", "l"), Projection: all}}},
		msg: "One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
	}, {
		name: "lsi with another hash key",
		in: awsddb.CreateTableInput{AttributeDefinitions: attrDefs("pk", "S", "sk", "S", "l", "S"), KeySchema: keySchema("pk", "sk"), BillingMode: types.BillingModePayPerRequest,
			LocalSecondaryIndexes: []types.LocalSecondaryIndex{{IndexName: aws.String("lsi"), KeySchema: keySchema("l", "sk"), Projection: all}}},
		msg: "One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: lsi. index hash key: l, table hash key: pk",
	}, {
		// API reference ProvisionedThroughput: "You must use
		// ProvisionedThroughput or OnDemandThroughput based on your
		// table's capacity mode."
		name: "gsi without throughput on provisioned table",
		in: awsddb.CreateTableInput{AttributeDefinitions: attrDefs("pk", "S", "g", "S"), KeySchema: keySchema("pk"),
			ProvisionedThroughput:  &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)},
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi("gsi", all, nil)}},
		msg: "One or more parameter values were invalid: ProvisionedThroughput must be specified for index: gsi",
	}, {
		name: "gsi with throughput on on-demand table",
		in: awsddb.CreateTableInput{AttributeDefinitions: attrDefs("pk", "S", "g", "S"), KeySchema: keySchema("pk"), BillingMode: types.BillingModePayPerRequest,
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi("gsi", all, &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(1), WriteCapacityUnits: aws.Int64(1)})}},
		msg: "One or more parameter values were invalid: ProvisionedThroughput should not be specified for index: gsi when BillingMode is PAY_PER_REQUEST",
	}, {
		// API reference Projection, ProjectionType: KEYS_ONLY, INCLUDE
		// ("other non-key attributes that you specify") or ALL.
		name: "non-key attributes beside ALL",
		in: awsddb.CreateTableInput{AttributeDefinitions: attrDefs("pk", "S", "g", "S"), KeySchema: keySchema("pk"), BillingMode: types.BillingModePayPerRequest,
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi("gsi", &types.Projection{ProjectionType: types.ProjectionTypeAll, NonKeyAttributes: []string{"x"}}, nil)}},
		msg: "One or more parameter values were invalid: ProjectionType is ALL, but NonKeyAttributes is specified",
	}, {
		// API reference GlobalSecondaryIndex, IndexName: "The name must
		// be unique among all other indexes on this table."
		name: "duplicate index name",
		in: awsddb.CreateTableInput{AttributeDefinitions: attrDefs("pk", "S", "g", "S"), KeySchema: keySchema("pk"), BillingMode: types.BillingModePayPerRequest,
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi("gsi", all, nil), gsi("gsi", all, nil)}},
		msg: "One or more parameter values were invalid: Duplicate index name: gsi",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.TableName = aws.String("bad")
			_, err := c.CreateTable(t.Context(), &in)
			if code, msg := apiCode(t, err); code != "ValidationException" || msg != tc.msg {
				t.Errorf("got %s %q, want ValidationException %q", code, msg, tc.msg)
			}
		})
	}
}

// TestIndexKeyWrites: an item's index key attributes must have the
// attribute definition's type and not be empty.
func TestIndexKeyWrites(t *testing.T) {
	c := start(t)
	createIndexed(t, c)
	_, err := c.PutItem(t.Context(), &awsddb.PutItemInput{TableName: aws.String("tbl"), Item: av{"pk": s("a"), "sk": n("1"), "g": n("1")}})
	if _, msg := apiCode(t, err); msg != "One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N IndexName: by_g" {
		t.Errorf("type mismatch: %q", msg)
	}
	_, err = c.PutItem(t.Context(), &awsddb.PutItemInput{TableName: aws.String("tbl"), Item: av{"pk": s("a"), "sk": n("1"), "l": s("")}})
	if _, msg := apiCode(t, err); msg != "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: by_l, IndexKey: l" {
		t.Errorf("empty: %q", msg)
	}
}

func keysOf(items []av, names ...string) []string {
	var out []string
	for _, it := range items {
		var parts []string
		for _, n := range names {
			switch v := it[n].(type) {
			case *types.AttributeValueMemberS:
				parts = append(parts, v.Value)
			case *types.AttributeValueMemberN:
				parts = append(parts, v.Value)
			case *types.AttributeValueMemberB:
				parts = append(parts, string(v.Value))
			}
		}
		out = append(out, strings.Join(parts, "/"))
	}
	return out
}

// TestQuery covers key conditions, sort order by key type, direction,
// filters, projections, Select and pagination.
func TestQuery(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	createIndexed(t, c)
	// Numbers sort by value: 10 after 9 (API reference Query,
	// ScanIndexForward: "If the data type is Number, the results are
	// stored in numeric order").
	for _, sk := range []string{"10", "9", "-1", "2.5"} {
		put(t, c, "tbl", av{"pk": s("a"), "sk": n(sk), "f": n(sk), "g": s("G"), "gs": n(sk), "x": s("x" + sk), "y": s("y")})
	}
	put(t, c, "tbl", av{"pk": s("b"), "sk": n("1")})
	q := func(in awsddb.QueryInput) *awsddb.QueryOutput {
		t.Helper()
		in.TableName = aws.String("tbl")
		out, err := c.Query(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	vals := func(kv ...any) map[string]types.AttributeValue {
		m := map[string]types.AttributeValue{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(types.AttributeValue)
		}
		return m
	}
	out := q(awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", s("a"))})
	if got, want := keysOf(out.Items, "sk"), []string{"-1", "2.5", "9", "10"}; !cmp.Equal(got, want) {
		t.Errorf("ascending = %v, want %v", got, want)
	}
	out = q(awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :p AND sk BETWEEN :lo AND :hi"), ScanIndexForward: aws.Bool(false),
		ExpressionAttributeValues: vals(":p", s("a"), ":lo", n("0"), ":hi", n("9"))})
	if got, want := keysOf(out.Items, "sk"), []string{"9", "2.5"}; !cmp.Equal(got, want) {
		t.Errorf("descending between = %v, want %v", got, want)
	}
	// Count is after the filter, ScannedCount before it (API reference
	// Query, Count and ScannedCount).
	out = q(awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), FilterExpression: aws.String("f > :z"),
		ExpressionAttributeValues: vals(":p", s("a"), ":z", n("3"))})
	if out.Count != 2 || out.ScannedCount != 4 {
		t.Errorf("filter: Count %d ScannedCount %d, want 2 and 4", out.Count, out.ScannedCount)
	}
	out = q(awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), Select: types.SelectCount, ExpressionAttributeValues: vals(":p", s("a"))})
	if out.Count != 4 || out.Items != nil {
		t.Errorf("COUNT: Count %d Items %v", out.Count, out.Items)
	}
	out = q(awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :p AND sk = :s"), ProjectionExpression: aws.String("f"),
		ExpressionAttributeValues: vals(":p", s("a"), ":s", n("9"))})
	if len(out.Items) != 1 || len(out.Items[0]) != 1 || out.Items[0]["f"] == nil {
		t.Errorf("projection: %v", out.Items)
	}
	// Pages of two; LastEvaluatedKey resumes after the last item read.
	var all []av
	var start map[string]types.AttributeValue
	for range 5 {
		out = q(awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :p"), Limit: aws.Int32(3), ExclusiveStartKey: start, ExpressionAttributeValues: vals(":p", s("a"))})
		all = append(all, out.Items...)
		if start = out.LastEvaluatedKey; start == nil {
			break
		}
		if !cmp.Equal(keysOf([]av{start}, "pk", "sk"), keysOf(out.Items[len(out.Items)-1:], "pk", "sk")) {
			t.Errorf("LastEvaluatedKey %v is not the last item", start)
		}
	}
	if got := keysOf(all, "sk"); !cmp.Equal(got, []string{"-1", "2.5", "9", "10"}) {
		t.Errorf("paged = %v", got)
	}
	// The GSI: its key order, its projection (keys and x, not y), and a
	// LastEvaluatedKey with the index's and the table's keys.
	out = q(awsddb.QueryInput{IndexName: aws.String("by_g"), KeyConditionExpression: aws.String("g = :g AND gs > :z"), Limit: aws.Int32(1),
		ExpressionAttributeValues: vals(":g", s("G"), ":z", n("0"))})
	if len(out.Items) != 1 || out.Items[0]["y"] != nil || out.Items[0]["x"] == nil || len(out.LastEvaluatedKey) != 4 {
		t.Errorf("gsi page = %v, LastEvaluatedKey %v", out.Items, out.LastEvaluatedKey)
	}
	// The LSI fetches unprojected attributes from the table for
	// ALL_ATTRIBUTES (API reference Query, Select).
	put(t, c, "tbl", av{"pk": s("a"), "sk": n("100"), "l": s("L"), "y": s("Y")})
	out = q(awsddb.QueryInput{IndexName: aws.String("by_l"), KeyConditionExpression: aws.String("pk = :p"), Select: types.SelectAllAttributes,
		ExpressionAttributeValues: vals(":p", s("a"))})
	if len(out.Items) != 1 || out.Items[0]["y"] == nil {
		t.Errorf("lsi ALL_ATTRIBUTES = %v", out.Items)
	}
	out = q(awsddb.QueryInput{IndexName: aws.String("by_l"), KeyConditionExpression: aws.String("pk = :p"), ExpressionAttributeValues: vals(":p", s("a"))})
	if len(out.Items) != 1 || out.Items[0]["y"] != nil {
		t.Errorf("lsi ALL_PROJECTED_ATTRIBUTES = %v", out.Items)
	}
	// Legacy KeyConditions (API reference Query, KeyConditions).
	out = q(awsddb.QueryInput{KeyConditions: map[string]types.Condition{
		"pk": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{s("a")}},
		"sk": {ComparisonOperator: types.ComparisonOperatorLt, AttributeValueList: []types.AttributeValue{n("9")}},
	}})
	if got := keysOf(out.Items, "sk"); !cmp.Equal(got, []string{"-1", "2.5"}) {
		t.Errorf("KeyConditions = %v", got)
	}
}

// TestQueryErrors: DynamoDB's answers to bad key conditions and Select.
func TestQueryErrors(t *testing.T) {
	c := start(t)
	createIndexed(t, c)
	for _, tc := range []struct {
		in  awsddb.QueryInput
		msg string
	}{
		{awsddb.QueryInput{KeyConditionExpression: aws.String("sk = :n"), ExpressionAttributeValues: av{":n": n("1")}},
			"Query condition missed key schema element: pk"},
		// API reference Query, KeyConditionExpression: "The condition
		// must perform an equality test on a single partition key value."
		{awsddb.QueryInput{KeyConditionExpression: aws.String("pk > :s"), ExpressionAttributeValues: av{":s": s("a")}},
			"Query key condition not supported"},
		{awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :s OR sk = :n"), ExpressionAttributeValues: av{":s": s("a"), ":n": n("1")}},
			"Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: OR"},
		{awsddb.QueryInput{KeyConditionExpression: aws.String("pk = sk")},
			"Invalid KeyConditionExpression: Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"},
		{awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :n"), ExpressionAttributeValues: av{":n": n("1")}},
			"One or more parameter values were invalid: Condition parameter type does not match schema type"},
		// Developer Guide, "Filter expressions for Query": "A filter
		// expression cannot contain partition key or sort key attributes."
		{awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :s"), FilterExpression: aws.String("sk > :n"), ExpressionAttributeValues: av{":s": s("a"), ":n": n("1")}},
			"Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"},
		// API reference Query, ConsistentRead: "If you query a global
		// secondary index with ConsistentRead set to true, you will
		// receive a ValidationException."
		{awsddb.QueryInput{IndexName: aws.String("by_g"), ConsistentRead: aws.Bool(true), KeyConditionExpression: aws.String("g = :s"), ExpressionAttributeValues: av{":s": s("a")}},
			"Consistent reads are not supported on global secondary indexes"},
		// API reference Query, Select: "ALL_PROJECTED_ATTRIBUTES -
		// Allowed only when querying an index."
		{awsddb.QueryInput{Select: types.SelectAllProjectedAttributes, KeyConditionExpression: aws.String("pk = :s"), ExpressionAttributeValues: av{":s": s("a")}},
			"One or more parameter values were invalid: ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"},
		// A DynamoDB answer quoted in awslabs/aws-sdk-ios-samples issue 58.
		{awsddb.QueryInput{IndexName: aws.String("nope"), KeyConditionExpression: aws.String("pk = :s"), ExpressionAttributeValues: av{":s": s("a")}},
			"The table does not have the specified index: nope"},
		// DynamoDB's answer quoted in awslabs/aws-athena-query-federation
		// issue 1089; API reference Query, KeyConditionExpression: "one of
		// several comparison tests on a single sort key value".
		{awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :s AND sk > :n AND sk < :n"), ExpressionAttributeValues: av{":s": s("a"), ":n": n("1")}},
			"KeyConditionExpressions must only contain one condition per key"},
		// API reference Query, KeyConditions: the sort key's comparisons
		// are "EQ | LE | LT | GE | GT | BEGINS_WITH | BETWEEN".
		{awsddb.QueryInput{KeyConditions: map[string]types.Condition{
			"pk": {ComparisonOperator: types.ComparisonOperatorEq, AttributeValueList: []types.AttributeValue{s("a")}},
			"sk": {ComparisonOperator: types.ComparisonOperatorNe, AttributeValueList: []types.AttributeValue{n("1")}}}},
			"Attempted conditional constraint is not an indexable operation"},
		// A DynamoDB answer quoted in awsdocs/amazon-dynamodb-developer-guide
		// issue 274.
		{awsddb.QueryInput{}, "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."},
		// localstack PR 5799 quotes DynamoDB's answer; API reference Query,
		// Select, ALL_ATTRIBUTES: a local index "fetches the entire item
		// from the parent table", a global one cannot.
		{awsddb.QueryInput{IndexName: aws.String("by_g"), Select: types.SelectAllAttributes, KeyConditionExpression: aws.String("g = :s"), ExpressionAttributeValues: av{":s": s("a")}},
			"One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index by_g because its projection type is not ALL"},
		{awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :s"), FilterExpression: aws.String(""), ExpressionAttributeValues: av{":s": s("a")}},
			"Invalid FilterExpression: The expression can not be empty;"},
		// API reference Query, ExclusiveStartKey: "The primary key of the
		// first item that this operation will evaluate"; it must lie in
		// what the key condition selects.
		{awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :s"), ExclusiveStartKey: av{"pk": s("b"), "sk": n("1")}, ExpressionAttributeValues: av{":s": s("a")}},
			"The provided starting key is outside query boundaries based on provided conditions"},
		{awsddb.QueryInput{KeyConditionExpression: aws.String("pk = :s"), ExclusiveStartKey: av{"pk": s("a")}, ExpressionAttributeValues: av{":s": s("a")}},
			"The provided starting key is invalid: The provided key element does not match the schema"},
	} {
		in := tc.in
		in.TableName = aws.String("tbl")
		_, err := c.Query(t.Context(), &in)
		if code, msg := apiCode(t, err); code != "ValidationException" || msg != tc.msg {
			t.Errorf("%s: got %s %q, want %q", aws.ToString(tc.in.KeyConditionExpression), code, msg, tc.msg)
		}
	}
}

// TestScan covers filters, segments, pagination, binary key order and the
// 1 MB page.
func TestScan(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	_, err := c.CreateTable(ctx, &awsddb.CreateTableInput{TableName: aws.String("bin"), AttributeDefinitions: attrDefs("pk", "B"),
		KeySchema: keySchema("pk"), BillingMode: types.BillingModePayPerRequest})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("z", 300*1024)
	for i := range 10 {
		put(t, c, "bin", av{"pk": b(fmt.Sprintf("k%d", i)), "n": n(fmt.Sprint(i)), "big": s(big)})
	}
	// API reference Scan: "If the total size of scanned items exceeds the
	// maximum dataset size limit of 1 MB, the scan completes and results
	// are returned to the user" with LastEvaluatedKey.
	var got []av
	var start map[string]types.AttributeValue
	pages := 0
	for ; pages < 10; pages++ {
		out, err := c.Scan(ctx, &awsddb.ScanInput{TableName: aws.String("bin"), ExclusiveStartKey: start, ProjectionExpression: aws.String("pk")})
		if err != nil {
			t.Fatal(err)
		}
		if out.ScannedCount > 3 {
			t.Errorf("page of %d items of 300 KB", out.ScannedCount)
		}
		got = append(got, out.Items...)
		if start = out.LastEvaluatedKey; start == nil {
			break
		}
	}
	// Binary keys sort bytewise: k0 .. k9.
	want := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"}
	if keys := keysOf(got, "pk"); !cmp.Equal(keys, want) || pages < 3 {
		t.Errorf("scan = %v in %d pages, want %v in 4", keys, pages+1, want)
	}
	_, err = c.CreateTable(ctx, &awsddb.CreateTableInput{TableName: aws.String("num"), AttributeDefinitions: attrDefs("pk", "N"),
		KeySchema: keySchema("pk"), BillingMode: types.BillingModePayPerRequest})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		put(t, c, "num", av{"pk": n(fmt.Sprint(i)), "n": n(fmt.Sprint(i))})
	}
	// Segments partition the items: each once, in exactly one segment
	// (API reference Scan, TotalSegments).
	total := 0
	for seg := range int32(3) {
		out, err := c.Scan(ctx, &awsddb.ScanInput{TableName: aws.String("num"), Segment: aws.Int32(seg), TotalSegments: aws.Int32(3),
			FilterExpression: aws.String("n >= :z"), ExpressionAttributeValues: av{":z": n("5")}, Select: types.SelectCount})
		if err != nil {
			t.Fatal(err)
		}
		total += int(out.Count)
	}
	if total != 5 {
		t.Errorf("segments counted %d items, want 5", total)
	}
	// Legacy ScanFilter (API reference Scan, ScanFilter).
	out, err := c.Scan(ctx, &awsddb.ScanInput{TableName: aws.String("num"), ScanFilter: map[string]types.Condition{
		"n": {ComparisonOperator: types.ComparisonOperatorBetween, AttributeValueList: []types.AttributeValue{n("2"), n("3")}}},
		AttributesToGet: []string{"n"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count != 2 || len(out.Items[0]) != 1 {
		t.Errorf("ScanFilter = %v", out.Items)
	}
	for _, tc := range []struct {
		in  awsddb.ScanInput
		msg string
	}{
		{awsddb.ScanInput{Segment: aws.Int32(1)}, "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"},
		{awsddb.ScanInput{Segment: aws.Int32(3), TotalSegments: aws.Int32(3)}, "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 3"},
		{awsddb.ScanInput{IndexName: aws.String("nope")}, "The table does not have the specified index: nope"},
		{awsddb.ScanInput{ScanFilter: map[string]types.Condition{"n": {ComparisonOperator: "ABOUT", AttributeValueList: []types.AttributeValue{n("1")}}}},
			"1 validation error detected: Value 'ABOUT' at 'scanFilter.n.member.comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"},
		{awsddb.ScanInput{FilterExpression: aws.String("n > :z"), ScanFilter: map[string]types.Condition{"n": {ComparisonOperator: types.ComparisonOperatorNotNull}}, ExpressionAttributeValues: av{":z": n("1")}},
			"Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {ScanFilter} Expression parameters: {FilterExpression}"},
	} {
		in := tc.in
		in.TableName = aws.String("num")
		_, err := c.Scan(ctx, &in)
		if code, msg := apiCode(t, err); code != "ValidationException" || msg != tc.msg {
			t.Errorf("got %s %q, want %q", code, msg, tc.msg)
		}
	}
}

// TestIndexWriteCapacity: a write consumes units on every index it
// touches, two when it changes an index key, none on an index whose entry
// it leaves as it was (Developer Guide, "Global secondary indexes",
// writes; API reference ConsumedCapacity).
func TestIndexWriteCapacity(t *testing.T) {
	c := start(t)
	ctx := t.Context()
	createIndexed(t, c)
	write := func(it av) *types.ConsumedCapacity {
		t.Helper()
		out, err := c.PutItem(ctx, &awsddb.PutItemInput{TableName: aws.String("tbl"), Item: it, ReturnConsumedCapacity: types.ReturnConsumedCapacityIndexes})
		if err != nil {
			t.Fatal(err)
		}
		return out.ConsumedCapacity
	}
	units := func(m map[string]types.Capacity, name string) float64 {
		if v, ok := m[name]; ok {
			return *v.CapacityUnits
		}
		return 0
	}
	for _, tc := range []struct {
		name          string
		it            av
		total, gsi, l float64
	}{
		{"new item in both indexes", av{"pk": s("a"), "sk": n("1"), "g": s("G"), "gs": n("1"), "l": s("L"), "y": s("Y")}, 3, 1, 1},
		{"unprojected attribute changes", av{"pk": s("a"), "sk": n("1"), "g": s("G"), "gs": n("1"), "l": s("L"), "y": s("Z")}, 1, 0, 0},
		{"projected attribute changes", av{"pk": s("a"), "sk": n("1"), "g": s("G"), "gs": n("1"), "l": s("L"), "y": s("Z"), "x": s("X")}, 2, 1, 0},
		{"GSI key changes", av{"pk": s("a"), "sk": n("1"), "g": s("H"), "gs": n("1"), "l": s("L"), "y": s("Z"), "x": s("X")}, 3, 2, 0},
		{"leaves the LSI", av{"pk": s("a"), "sk": n("1"), "g": s("H"), "gs": n("1"), "y": s("Z"), "x": s("X")}, 2, 0, 1},
	} {
		cc := write(tc.it)
		if *cc.CapacityUnits != tc.total || units(cc.GlobalSecondaryIndexes, "by_g") != tc.gsi || units(cc.LocalSecondaryIndexes, "by_l") != tc.l || *cc.Table.CapacityUnits != 1 {
			t.Errorf("%s: total %v, by_g %v, by_l %v, table %v; want %v, %v, %v, 1", tc.name, *cc.CapacityUnits,
				units(cc.GlobalSecondaryIndexes, "by_g"), units(cc.LocalSecondaryIndexes, "by_l"), *cc.Table.CapacityUnits, tc.total, tc.gsi, tc.l)
		}
	}
}
