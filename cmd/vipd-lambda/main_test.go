package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/vipd/vipd/internal/controller"
	"github.com/vipd/vipd/internal/lambdasim"
	simddb "github.com/vipd/vipd/internal/vpcsim/dynamodb"
	simssm "github.com/vipd/vipd/internal/vpcsim/ssm"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

const world = `region: us-east-1
vpcs:
  - {id: vpc-0de30000000000001, name: demo, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-0a000000000000001, name: db-a, vpc: vpc-0de30000000000001, cidr: 10.0.1.0/24, az: us-east-1a}
  - {id: subnet-0b000000000000002, name: db-b, vpc: vpc-0de30000000000001, cidr: 10.0.2.0/24, az: us-east-1b}
route-tables:
  - {id: rtb-0a000000000000001, name: main, vpc: vpc-0de30000000000001, main: true, subnets: [subnet-0a000000000000001, subnet-0b000000000000002]}
instances:
  - {id: i-0a000000000000001, name: db-a, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10}
  - {id: i-0b000000000000002, name: db-b, subnet: subnet-0b000000000000002, private-ip: 10.0.2.10}
`

const (
	instA = "i-0a000000000000001"
	instB = "i-0b000000000000002"
)

// scheduledEvent is what EventBridge sends for a rate(1 minute) rule.
const scheduledEvent = `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",
"account":"123456789012","time":"2026-11-24T22:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/vipd"],"detail":{}}`

// buildBootstrap builds the function binary as make lambda does, for this
// machine's architecture.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, b)
	}
	return out
}

// backend is one candidate's service: HTTP 200 with its instance id.
type backend struct {
	srv *http.Server
	wg  sync.WaitGroup
}

func startBackend(t *testing.T, id string) (netip.AddrPort, *backend) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{srv: &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, id) }),
		ReadHeaderTimeout: time.Second,
	}}
	b.wg.Go(func() { _ = b.srv.Serve(ln) })
	t.Cleanup(b.stop)
	return netip.MustParseAddrPort(ln.Addr().String()), b
}

func (b *backend) stop() { b.srv.Close(); b.wg.Wait() }

// TestBootstrapAgainstRuntimeEmulator runs the real bootstrap binary as
// Lambda does (AWS_LAMBDA_RUNTIME_API) against vpcsim: a scheduled event
// makes it take the lease, move the VIP to a healthy candidate and keep
// checking for its run time; in the next invocation a failed owner is
// replaced; a malformed event gets an error response and the process keeps
// serving.
func TestBootstrapAgainstRuntimeEmulator(t *testing.T) {
	bin := buildBootstrap(t)
	sim := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, world))
	ssmSvc := simssm.New(simssm.Options{})
	ssmSrv := httptest.NewServer(ssmSvc.Handler())
	t.Cleanup(ssmSrv.Close)
	ddbSrv := httptest.NewServer(simddb.New(simddb.Options{}).Handler())
	t.Cleanup(ddbSrv.Close)
	admin := vpcsimtest.AdminConfig(t, sim)
	ddb := awsddb.NewFromConfig(admin, func(o *awsddb.Options) { o.BaseEndpoint = aws.String(ddbSrv.URL) })
	if _, err := ddb.CreateTable(t.Context(), &awsddb.CreateTableInput{
		TableName:            aws.String("vipd-leases"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	addrA, svcA := startBackend(t, instA)
	addrB, svcB := startBackend(t, instB)
	svcs := map[string]*backend{instA: svcA, instB: svcB}

	cfg := fmt.Sprintf(`cluster: orders
candidates:
  instances:
    - {id: %s, check-address: %q}
    - {id: %s, check-address: %q}
health:
  - {http: {url: "http://{address}/", status: "200"}, interval: 200ms, timeout: 200ms, rise: 2, fall: 2}
resources:
  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}
owner-parameter: {name: MasterDB_VIP}
lease: {table: vipd-leases, duration: 1s}
interval: 200ms
aws: {region: us-east-1, endpoint: %q, endpoints: {ssm: %q, dynamodb: %q}}
lambda: {run-time: 3s, stop-before: 1s}
`, instA, addrA, instB, addrB, sim.URL(), ssmSrv.URL, ddbSrv.URL)

	rt := lambdasim.New()
	rtSrv := httptest.NewServer(rt.Handler())
	t.Cleanup(rtSrv.Close)
	ak, sk := sim.AdminKey()
	home := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"AWS_LAMBDA_RUNTIME_API=" + strings.TrimPrefix(rtSrv.URL, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME=vipd", "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=" + ak, "AWS_SECRET_ACCESS_KEY=" + sk,
		"AWS_EC2_METADATA_DISABLED=true", "HOME=" + home,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"VIPD_CONFIG=" + cfg,
	}
	logs := &strings.Builder{}
	var logMu sync.Mutex
	cmd.Stdout = lockedWriter{logs, &logMu}
	cmd.Stderr = lockedWriter{logs, &logMu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		logMu.Lock()
		defer logMu.Unlock()
		if t.Failed() {
			t.Logf("bootstrap output:\n%s", logs.String())
		}
	})

	invoke := func(payload string) (Report, lambdasim.Result) {
		t.Helper()
		res, err := rt.Invoke(t.Context(), []byte(payload), 6*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var rep Report
		if res.Error == nil && !res.TimedOut {
			if err := json.Unmarshal(res.Payload, &rep); err != nil {
				t.Fatalf("response %s: %v", res.Payload, err)
			}
		}
		return rep, res
	}

	// First invocation: no owner yet; it moves the VIP to a healthy one.
	rep, res := invoke(scheduledEvent)
	if res.Error != nil || res.TimedOut {
		t.Fatalf("first invocation: %+v", res)
	}
	if !rep.Active || rep.Owner == "" || rep.Moves < 1 || res.Took < 2*time.Second || res.Took > 4*time.Second {
		t.Errorf("first invocation: report %+v after %s; want active, an owner, a move, about 3s", rep, res.Took)
	}
	first := rep.Owner
	ssmc := awsssm.NewFromConfig(admin, func(o *awsssm.Options) { o.BaseEndpoint = aws.String(ssmSrv.URL) })
	owner := func() (string, uint64) {
		out, err := ssmc.GetParameter(t.Context(), &awsssm.GetParameterInput{Name: aws.String("MasterDB_VIP")})
		if err != nil {
			t.Fatal(err)
		}
		id, tok, err := controller.ParseOwner(aws.ToString(out.Parameter.Value))
		if err != nil {
			t.Fatal(err)
		}
		return id, tok
	}
	if id, tok := owner(); id != first || tok != rep.Token {
		t.Errorf("owner record %s token %d, want %s token %d", id, tok, first, rep.Token)
	}

	// A malformed event is an error response, not a crash.
	for _, bad := range []string{`not json`, `[1,2]`, `{"source":"aws.s3","detail-type":"Object Created"}`} {
		_, res = invoke(bad)
		if res.Error == nil {
			t.Errorf("event %s: response %s, want an error", bad, res.Payload)
		}
	}

	// Second invocation: the lease was released at the end of the first,
	// so it takes over at once; the owner's service fails during it and
	// the VIP moves within the same invocation.
	other := map[string]string{instA: instB, instB: instA}[first]
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		// Into the second invocation: once it holds the lease.
		deadline := time.Now().Add(5 * time.Second)
		for leaseToken(t, ddb) <= rep.Token && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // polling the lease item
		}
		svcs[first].stop()
	}()
	rep, res = invoke(scheduledEvent)
	if res.Error != nil || res.TimedOut {
		t.Fatalf("second invocation: %+v", res)
	}
	<-stopped
	if rep.Owner != other || rep.Token <= 1 {
		t.Errorf("second invocation: report %+v, want owner %s under a new token", rep, other)
	}
	if id, tok := owner(); id != other || tok != rep.Token {
		t.Errorf("owner record %s token %d, want %s token %d", id, tok, other, rep.Token)
	}
	select {
	case err := <-exited:
		t.Fatalf("bootstrap exited: %v", err)
	default:
	}
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// leaseToken reads the lease item's token (0 while it has none).
func leaseToken(t *testing.T, ddb *awsddb.Client) uint64 {
	out, err := ddb.GetItem(t.Context(), &awsddb.GetItemInput{
		TableName:      aws.String("vipd-leases"),
		Key:            map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "orders"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0
	}
	owner, _ := out.Item["owner"].(*ddbtypes.AttributeValueMemberS)
	tok, _ := out.Item["token"].(*ddbtypes.AttributeValueMemberN)
	if owner == nil || owner.Value == "" || tok == nil {
		return 0
	}
	n, _ := strconv.ParseUint(tok.Value, 10, 64)
	return n
}
