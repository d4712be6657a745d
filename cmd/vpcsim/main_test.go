package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsr53 "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/version"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut testenv.SyncBuffer
	cmd := newRootCmd()
	cmd.SetArgs([]string{"--world", "../../examples/world.yaml", "--listen", "127.0.0.1:0", "--timing", "none"})
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "imds i-0d0000000000000d1") {
		if time.Now().After(deadline) {
			t.Fatalf("no endpoints printed; stdout %q stderr %q", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := strings.Fields(strings.SplitN(out.String(), "\n", 2)[0])[1]
	resp, err := http.Get(url + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /_sim/state: %s", resp.Status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("vpcsim did not stop after its context was cancelled")
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"extra-arg"}, {"--world", "x.yaml", "--timing", "slow"}, {"--no-such-flag"}} {
		cmd := newRootCmd()
		cmd.SetArgs(args)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		err := cmd.ExecuteContext(t.Context())
		var ue cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("args %q: err %v, want a usage error (exit 2)", args, err)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	cmd := newRootCmd()
	cmd.SetArgs([]string{"--version"})
	var out bytes.Buffer
	cmd.SetOut(&out)
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("vpcsim --version: %v", err)
	}
	if want := "vpcsim " + version.Get().String() + "\n"; out.String() != want {
		t.Errorf("vpcsim --version printed %q, want %q", out.String(), want)
	}
}

// TestManPage runs vpcsim man: vpcsim's manual page, for whoever packages
// it (the vipd package does not ship vpcsim), has its --help text.
func TestManPage(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if got := cli.Run(t.Context(), newRootCmd(), []string{"man", dir}, &out); got != 0 {
		t.Fatalf("vpcsim man: exit status %d: %s", got, out.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "vpcsim.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`.TH "VPCSIM" "1"`, "--timing picks what time the simulated AWS takes", `\fB--world\fP`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("vpcsim.1 lacks %q:\n%s", want, b)
		}
	}
}

// TestRealisticTimingKeepsRoute53ChangesPending runs vpcsim as a user
// would, with the default --timing realistic: a Route 53 change is PENDING
// after it is submitted, as on AWS, where changes take up to 60 s to reach
// every name server (Route 53 FAQ), not INSYNC at once.
func TestRealisticTimingKeepsRoute53ChangesPending(t *testing.T) {
	testenv.AWS(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut testenv.SyncBuffer
	cmd := newRootCmd()
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--timing", "realistic"})
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.HasPrefix(out.String(), "ec2 ") || !strings.Contains(out.String(), "\n") {
		if time.Now().After(deadline) {
			t.Fatalf("no endpoint printed; stdout %q stderr %q", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	url := strings.Fields(strings.SplitN(out.String(), "\n", 2)[0])[1]
	c := awsr53.New(awsr53.Options{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("vpcsim-admin", "vpcsim-admin-secret", "")})
	z, err := c.CreateHostedZone(ctx, &awsr53.CreateHostedZoneInput{Name: aws.String("db.example.com."), CallerReference: aws.String(t.Name())})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.ChangeResourceRecordSets(ctx, &awsr53.ChangeResourceRecordSetsInput{HostedZoneId: z.HostedZone.Id, ChangeBatch: &r53types.ChangeBatch{
		Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String("vip.db.example.com."), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("10.0.1.10")}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetChange(ctx, &awsr53.GetChangeInput{Id: ch.ChangeInfo.Id})
	if err != nil {
		t.Fatal(err)
	}
	if got.ChangeInfo.Status != r53types.ChangeStatusPending {
		t.Errorf("GetChange right after the change: %s, want PENDING", got.ChangeInfo.Status)
	}
}
