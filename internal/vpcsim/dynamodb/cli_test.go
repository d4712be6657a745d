package dynamodb_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/vpcsim/dynamodb"
)

// TestCLI drives vpcsim's DynamoDB with the real AWS CLI: create a table,
// take a lease with a conditional put, fail to take it again, read it. It
// skips without the CLI unless CI=true.
func TestCLI(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the aws CLI is required under CI=true")
		}
		t.Skip("aws CLI not installed")
	}
	srv := httptest.NewServer(dynamodb.New(dynamodb.Options{}).Handler())
	t.Cleanup(srv.Close)
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
	}
	if v := os.Getenv("PYENV_ROOT"); v != "" {
		env = append(env, "PYENV_ROOT="+v) // pyenv shims need it to find the CLI
	}
	run := func(args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(args, "--endpoint-url", srv.URL, "--output", "json")...)
		cmd.Env = env
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.Stderr, err
		}
		return out, err
	}
	must := func(args ...string) []byte {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
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
	stderr, err := run(put...)
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
