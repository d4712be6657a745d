package ssm_test

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

	"github.com/vipd/vipd/internal/vpcsim/ssm"
)

// TestCLI drives the simulated Parameter Store with the real AWS CLI, as
// seed 003's operator would: create the owner parameter, fail to create it
// again, overwrite it, read it and its history, delete it. It skips without
// the CLI unless CI=true.
func TestCLI(t *testing.T) {
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the aws CLI is required under CI=true")
		}
		t.Skip("aws CLI not installed")
	}
	srv := httptest.NewServer(ssm.New(ssm.Options{}).Handler())
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
	var put struct{ Version int64 }
	if err := json.Unmarshal(must("ssm", "put-parameter", "--name", "MasterDB_VIP", "--value", "i-0a", "--type", "String"), &put); err != nil || put.Version != 1 {
		t.Fatalf("first put: version %d, %v", put.Version, err)
	}
	stderr, err := run("ssm", "put-parameter", "--name", "MasterDB_VIP", "--value", "i-0b", "--type", "String")
	if want := "(ParameterAlreadyExists)"; err == nil || !strings.Contains(string(stderr), want) {
		t.Errorf("second put without --overwrite: err %v, stderr %q; want %s", err, stderr, want)
	}
	if err := json.Unmarshal(must("ssm", "put-parameter", "--name", "MasterDB_VIP", "--value", "i-0b", "--overwrite"), &put); err != nil || put.Version != 2 {
		t.Fatalf("overwrite: version %d, %v", put.Version, err)
	}
	var got struct {
		Parameter struct {
			Value   string
			Version int64
		}
	}
	if err := json.Unmarshal(must("ssm", "get-parameter", "--name", "MasterDB_VIP"), &got); err != nil {
		t.Fatal(err)
	}
	if got.Parameter.Value != "i-0b" || got.Parameter.Version != 2 {
		t.Errorf("get-parameter = %+v, want i-0b version 2", got.Parameter)
	}
	var hist struct{ Parameters []struct{ Value string } }
	if err := json.Unmarshal(must("ssm", "get-parameter-history", "--name", "MasterDB_VIP"), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Parameters) != 2 || hist.Parameters[0].Value != "i-0a" || hist.Parameters[1].Value != "i-0b" {
		t.Errorf("history = %+v, want i-0a then i-0b", hist.Parameters)
	}
	must("ssm", "delete-parameter", "--name", "MasterDB_VIP")
	stderr, err = run("ssm", "get-parameter", "--name", "MasterDB_VIP")
	if want := "(ParameterNotFound)"; err == nil || !strings.Contains(string(stderr), want) {
		t.Errorf("get after delete: err %v, stderr %q; want %s", err, stderr, want)
	}
}
