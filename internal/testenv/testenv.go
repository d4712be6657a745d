// Package testenv starts the external tools some tests compare vpcsim
// with or drive it by (moto in server mode, the AWS CLI), isolated from the
// user's AWS configuration and from the real instance metadata service, and
// only ever on loopback.
//
// LookPath finds the other programs tests run (lintian, dpkg-deb).
//
// A test whose tool is missing skips, except under CI=true, where it fails:
// CI must not pass by skipping the comparisons.
//
// It also holds the plain SDK configuration the services' tests call
// vpcsim or moto with.
//
// Only tests import testenv.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// require skips t because what is missing (err says why), or fails it under
// CI=true.
func require(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: %v", what, err)
	}
	t.Skipf("%s not installed: %v", what, err)
}

// motoListening is the line moto's server (werkzeug) logs once it listens;
// with -p 0 it is the only way to learn the port the system picked.
var motoListening = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Moto starts moto in server mode on a loopback port the system picks and
// returns its URL. The process group is killed when the test ends.
func Moto(t testing.TB) string {
	t.Helper()
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		require(t, "moto (pip install 'moto[server]')", err)
	}
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0")
	cmd.Env = AWSEnv(t)
	// Its own process group, so the kill reaches any child it forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out SyncBuffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("start moto: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto: %v", err)
	}
	found := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		// Reading to the end keeps moto from blocking on a full pipe; Wait
		// may only run once the reads are done.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			out.Write(append(sc.Bytes(), '\n'))
			if m := motoListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	select {
	case u := <-found:
		return u
	case <-exited:
		t.Fatalf("moto exited before serving:\n%s", out.String())
	case <-t.Context().Done():
		t.Fatalf("start moto: %v", t.Context().Err())
	case <-timeout.C:
		t.Fatalf("moto not serving after 60s:\n%s", out.String())
	}
	return ""
}

// AWSCLI returns a function running the AWS CLI as
// `aws --endpoint-url endpoint args...`, which answers its stdout and stderr
// and fails with the exit status. Each run has 60 seconds. The CLI runs in
// AWSEnv(t, env...).
func AWSCLI(t testing.TB, endpoint string, env ...string) func(args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		require(t, "the aws CLI (pip install awscli)", err)
	}
	if dir := awsCLIDir(); dir != "" {
		bin = filepath.Join(dir, "aws")
	}
	env = AWSEnv(t, env...)
	ctx := t.Context()
	return func(args ...string) (stdout, stderr []byte, err error) {
		ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--endpoint-url", endpoint}, args...)...)
		cmd.Env = env
		cmd.WaitDelay = 5 * time.Second
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err = cmd.Run()
		return out.Bytes(), errb.Bytes(), err
	}
}

// AWS keeps the rest of t free of the caller's AWS configuration, so that
// the SDK clients a test builds, in the process or in children that
// inherit its environment, see only what the test sets: every AWS_*
// variable is unset (a laptop's AWS_PROFILE, a CI machine's
// AWS_EC2_METADATA_DISABLED or AWS_REGION), the shared config and
// credentials files point at files that do not exist, and then env
// (KEY=value entries) is set. Everything is restored when t ends. Like
// t.Setenv, it panics in a parallel test: the environment is the
// process's.
func AWS(t testing.TB, env ...string) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "") // registers the restore
			os.Unsetenv(k)
		}
	}
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("testenv.AWS: %q is not KEY=value", kv)
		}
		t.Setenv(k, v)
	}
}

// AWSEnv returns an environment for the AWS CLI (or a script calling it)
// that reads no configuration files, from a fresh HOME, and no IMDS, and
// signs with key x/x in us-east-1 unless env (KEY=value entries, which win
// over these defaults) says otherwise.
func AWSEnv(t testing.TB, env ...string) []string {
	home := t.TempDir()
	path := os.Getenv("PATH")
	if dir := awsCLIDir(); dir != "" {
		path = dir + string(os.PathListSeparator) + path
	}
	base := []string{
		"PATH=" + path,
		"HOME=" + home,
		"AWS_ACCESS_KEY_ID=x",
		"AWS_SECRET_ACCESS_KEY=x",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_PAGER=",
	}
	if v := os.Getenv("PYENV_ROOT"); v != "" {
		base = append(base, "PYENV_ROOT="+v) // pyenv shims need it to find the CLI
	}
	// exec.Cmd uses the last value of a repeated key, so env overrides base.
	return append(base, env...)
}

// awsCLIDir is the directory of the AWS CLI's script when `aws` on PATH
// is a pyenv shim, which re-executes through pyenv on every call (about
// 1.4 s of this machine's time each, and the CLI tests make about 150);
// the script itself is what an installed package runs. Empty otherwise.
var awsCLIDir = sync.OnceValue(func() string {
	real, err := exec.Command("pyenv", "which", "aws").Output()
	if err != nil {
		return ""
	}
	return filepath.Dir(strings.TrimSpace(string(real)))
})

// SDKConfig is an AWS SDK configuration signing with key x/x in us-east-1,
// sending through hc, with retries off so that every error reaches the
// test. It reads no files, environment or IMDS: each client built from it
// must be given its endpoint.
func SDKConfig(hc aws.HTTPClient) aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("x", "x", ""),
		HTTPClient:  hc,
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
}

// SyncBuffer is a bytes.Buffer that one goroutine (a child process's copier,
// a command under test) may write while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// LookPath returns the path of the program name, for a test that runs it
// (lintian, dpkg-deb); when it is not installed, the test skips, or fails
// under CI=true.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		require(t, name, err)
	}
	return path
}
