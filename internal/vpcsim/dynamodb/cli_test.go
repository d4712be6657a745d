package dynamodb_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim/dynamodb"
)

// TestCLI drives vpcsim's DynamoDB with the real AWS CLI: create a table,
// take a lease with a conditional put, fail to take it again, read it. It
// skips without the CLI unless CI=true.
func TestCLI(t *testing.T) {
	srv := serve(t, dynamodb.Options{})
	aws := testenv.AWSCLI(t, srv.URL)
	run := func(args ...string) (stdout, stderr []byte, err error) {
		return aws(append(args, "--output", "json")...)
	}
	must := func(args ...string) []byte {
		t.Helper()
		out, stderr, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	must("dynamodb", "create-table", "--table-name", "vipd-leases",
		"--attribute-definitions", "AttributeName=id,AttributeType=S",
		"--key-schema", "AttributeName=id,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
	must("dynamodb", "wait", "table-exists", "--table-name", "vipd-leases")
	put := []string{"dynamodb", "put-item", "--table-name", "vipd-leases",
		"--item", `{"id":{"S":"vip"},"owner":{"S":"node-a"},"token":{"N":"1"}}`,
		"--condition-expression", "attribute_not_exists(id)"}
	must(put...)
	_, stderr, err := run(put...)
	want := "An error occurred (ConditionalCheckFailedException) when calling the PutItem operation: The conditional request failed"
	if err == nil || !strings.Contains(string(stderr), want) {
		t.Errorf("second create-only put: err %v, stderr %q; want %q", err, stderr, want)
	}
	var got struct {
		Item map[string]map[string]string
	}
	if err := json.Unmarshal(must("dynamodb", "get-item", "--table-name", "vipd-leases", "--key", `{"id":{"S":"vip"}}`, "--consistent-read"), &got); err != nil {
		t.Fatal(err)
	}
	if got.Item["owner"]["S"] != "node-a" || got.Item["token"]["N"] != "1" {
		t.Errorf("get-item = %+v", got)
	}
}
