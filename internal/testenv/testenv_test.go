package testenv_test

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/vipd/vipd/internal/testenv"
)

// TestAWSCLIEnv checks the CLI's isolated defaults and that the caller's
// entries win over them; `aws configure list` reports where each setting
// came from without calling the endpoint.
func TestAWSCLIEnv(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{nil, `region\s+us-east-1\s+env\s+AWS_DEFAULT_REGION`},
		{[]string{"AWS_DEFAULT_REGION=eu-west-1"}, `region\s+eu-west-1\s+env\s+AWS_DEFAULT_REGION`},
	} {
		aws := testenv.AWSCLI(t, "http://127.0.0.1:1", tc.env...)
		out, errOut, err := aws("configure", "list")
		if err != nil {
			t.Fatalf("aws configure list: %v\n%s", err, errOut)
		}
		if !regexp.MustCompile(tc.want).Match(out) {
			t.Errorf("env %q: aws configure list =\n%s\nwant a line matching %s", tc.env, out, tc.want)
		}
	}
}

// TestMoto starts moto and checks that it answers on the URL returned.
func TestMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto")
	}
	u := testenv.Moto(t)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*$`).MatchString(u) {
		t.Fatalf("Moto() = %q, want a loopback URL with a port", u)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(u + "/moto-api/")
	if err != nil {
		t.Fatalf("GET /moto-api/: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /moto-api/: %s", resp.Status)
	}
}

func TestSyncBuffer(t *testing.T) {
	var b testenv.SyncBuffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			b.Write([]byte("x"))
		}
	}()
	_ = b.String() // races with the writer unless the buffer locks
	<-done
	if got := len(b.String()); got != 100 {
		t.Errorf("len = %d, want 100", got)
	}
}

func TestSDKConfig(t *testing.T) {
	cfg := testenv.SDKConfig(http.DefaultClient)
	creds, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-east-1" || creds.AccessKeyID != "x" || creds.SecretAccessKey != "x" || cfg.HTTPClient != http.DefaultClient {
		t.Errorf("SDKConfig = region %q, key %q/%q, client %v", cfg.Region, creds.AccessKeyID, creds.SecretAccessKey, cfg.HTTPClient)
	}
	if n := cfg.Retryer().MaxAttempts(); n != 1 {
		t.Errorf("retryer allows %d attempts, want 1 (no retries)", n)
	}
}

// TestAWS loads the SDK's default configuration, as vipd does, inside a
// hostile caller's environment: a profile that does not exist, IMDS
// disabled, another region and keys. Under testenv.AWS none of it reaches
// the SDK, what the test sets does, and the caller's values come back when
// the test ends.
func TestAWS(t *testing.T) {
	hostile := map[string]string{
		"AWS_PROFILE": "nonexistent", "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "AKIACALLER", "AWS_SECRET_ACCESS_KEY": "caller-secret",
	}
	for k, v := range hostile {
		t.Setenv(k, v)
	}
	t.Run("isolated", func(t *testing.T) {
		testenv.AWS(t, "AWS_REGION=us-west-2")
		cfg, err := config.LoadDefaultConfig(t.Context())
		if err != nil {
			t.Fatalf("load the SDK's configuration: %v", err)
		}
		if cfg.Region != "us-west-2" {
			t.Errorf("region %q, want us-west-2 (set by the test)", cfg.Region)
		}
		for _, k := range []string{"AWS_PROFILE", "AWS_EC2_METADATA_DISABLED", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
			if v, ok := os.LookupEnv(k); ok {
				t.Errorf("%s=%q is still set", k, v)
			}
		}
		for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
			if _, err := os.Stat(os.Getenv(k)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s=%s: want a file that does not exist, stat says %v", k, os.Getenv(k), err)
			}
		}
	})
	for k, v := range hostile {
		if got := os.Getenv(k); got != v {
			t.Errorf("after the test %s=%q, want the caller's %q back", k, got, v)
		}
	}
}
