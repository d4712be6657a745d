package controller_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/vipd/vipd/internal/controller"
	"github.com/vipd/vipd/internal/vpcsim"
	simddb "github.com/vipd/vipd/internal/vpcsim/dynamodb"
	"github.com/vipd/vipd/internal/vpcsim/fabric"
	simssm "github.com/vipd/vipd/internal/vpcsim/ssm"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// The harness world: two database instances in two AZs, an application
// subnet the client and the controllers sit in, and the service address
// 192.168.100.10 outside the VPC, routed in every table (seed 003).
const worldYAML = `region: us-east-1
vpcs:
  - {id: vpc-0de30000000000001, name: demo, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-0a000000000000001, name: db-a, vpc: vpc-0de30000000000001, cidr: 10.0.1.0/24, az: us-east-1a}
  - {id: subnet-0b000000000000002, name: db-b, vpc: vpc-0de30000000000001, cidr: 10.0.2.0/24, az: us-east-1b}
  - {id: subnet-0d000000000000004, name: app, vpc: vpc-0de30000000000001, cidr: 10.0.4.0/24, az: us-east-1a}
route-tables:
  - {id: rtb-0a000000000000001, name: db-a, vpc: vpc-0de30000000000001, subnets: [subnet-0a000000000000001]}
  - {id: rtb-0b000000000000002, name: db-b, vpc: vpc-0de30000000000001, subnets: [subnet-0b000000000000002]}
  - {id: rtb-0d000000000000004, name: app, vpc: vpc-0de30000000000001, main: true, subnets: [subnet-0d000000000000004]}
instances:
  - {id: i-0a000000000000001, name: db-a, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10}
  - {id: i-0b000000000000002, name: db-b, subnet: subnet-0b000000000000002, private-ip: 10.0.2.10}
  - {id: i-0d000000000000004, name: app, subnet: subnet-0d000000000000004, private-ip: 10.0.4.10}
`

const (
	instA      = "i-0a000000000000001"
	instB      = "i-0b000000000000002"
	appSubnet  = "subnet-0d000000000000004"
	table      = "vipd-leases"
	ownerParam = "MasterDB_VIP"
	port       = 5432
)

var vip = netip.MustParseAddr("192.168.100.10")

// harness is vpcsim, its SSM and DynamoDB, the proxy fabric, and one
// service per database instance.
type harness struct {
	t      *testing.T
	sim    *vpcsim.Server
	ssm    *simssm.Service
	ssmURL string
	ddbURL string
	fab    *fabric.Fabric
	client netip.AddrPort            // the VIP as the application sees it
	checks map[string]netip.AddrPort // instance → its private IP:5432 from the app subnet
	svcs   map[string]*service
}

func newHarness(t *testing.T) *harness { return newHarnessOptions(t, vpcsim.Options{}) }

// newHarnessOptions is newHarness with vpcsim options (timing, throttling).
func newHarnessOptions(t *testing.T, opts vpcsim.Options) *harness {
	h := &harness{t: t, checks: map[string]netip.AddrPort{}, svcs: map[string]*service{}}
	h.sim = vpcsimtest.NewServerOptions(t, vpcsimtest.ParseWorld(t, worldYAML), opts)
	h.ssm = simssm.New(simssm.Options{})
	ssmSrv := httptest.NewServer(h.ssm.Handler())
	t.Cleanup(ssmSrv.Close)
	h.ssmURL = ssmSrv.URL
	ddb := simddb.New(simddb.Options{})
	ddbSrv := httptest.NewServer(ddb.Handler())
	t.Cleanup(ddbSrv.Close)
	h.ddbURL = ddbSrv.URL
	_, err := h.ddbClient().CreateTable(t.Context(), &awsddb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	h.fab = fabric.New(h.sim, h.sim.Changes(), slog.New(slog.DiscardHandler))
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.fab.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	if h.client, err = h.fab.Expose(netip.AddrPortFrom(vip, port), appSubnet); err != nil {
		t.Fatal(err)
	}
	for id, ip := range map[string]string{instA: "10.0.1.10", instB: "10.0.2.10"} {
		if h.checks[id], err = h.fab.Expose(netip.AddrPortFrom(netip.MustParseAddr(ip), port), appSubnet); err != nil {
			t.Fatal(err)
		}
		h.svcs[id] = &service{name: id}
		h.startService(id)
	}
	t.Cleanup(func() {
		for id := range h.svcs {
			h.stopService(id)
		}
	})
	return h
}

func (h *harness) ddbClient() *awsddb.Client {
	cfg := vpcsimtest.AdminConfig(h.t, h.sim)
	return awsddb.NewFromConfig(cfg, func(o *awsddb.Options) { o.BaseEndpoint = aws.String(h.ddbURL) })
}

func (h *harness) ssmClient() *awsssm.Client {
	cfg := vpcsimtest.AdminConfig(h.t, h.sim)
	return awsssm.NewFromConfig(cfg, func(o *awsssm.Options) { o.BaseEndpoint = aws.String(h.ssmURL) })
}

func (h *harness) ec2Client() *awsec2.Client {
	return awsec2.NewFromConfig(vpcsimtest.AdminConfig(h.t, h.sim))
}

// service is one instance's database stand-in: an HTTP server that
// answers every request with its instance id. HTTP rather than a bare TCP
// banner because the proxy fabric accepts a connection before it knows
// whether a backend answers (fabric's doc), so only a request/response
// tells a stopped service apart.
type service struct {
	name string
	addr netip.AddrPort // kept across restarts
	srv  *http.Server
	wg   sync.WaitGroup
}

func (h *harness) startService(id string) {
	s := h.svcs[id]
	listen := "127.0.0.1:0"
	if s.addr.IsValid() {
		listen = s.addr.String()
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		h.t.Fatalf("start service of %s: %v", id, err)
	}
	s.addr = netip.MustParseAddrPort(ln.Addr().String())
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, s.name) }),
		ReadHeaderTimeout: time.Second,
	}
	srv := s.srv
	s.wg.Go(func() { _ = srv.Serve(ln) })
	h.fab.Bind(id, port, s.addr)
}

func (h *harness) stopService(id string) {
	s := h.svcs[id]
	if s.srv == nil {
		return
	}
	h.fab.Unbind(id, port)
	s.srv.Close()
	s.wg.Wait()
	s.srv = nil
}

// web is the application's HTTP client: no keep-alive, so that every
// request is a new connection routed as the VPC routes it now.
var web = &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

// servedBy sends a request to the VIP as the application does and returns
// the instance that answered, or "".
func (h *harness) servedBy() string {
	resp, err := web.Get("http://" + h.client.String() + "/")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 128))
	if err != nil || resp.StatusCode != http.StatusOK {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// waitServed polls the VIP until want answers and returns when it did.
func (h *harness) waitServed(want string, within time.Duration) time.Time {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if got := h.servedBy(); got == want {
			return time.Now()
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the VIP is not served by %s within %s (routes: %v)", want, within, h.routes())
		}
		time.Sleep(5 * time.Millisecond) // polling the data plane
	}
}

// routes returns where the VIP's route points in each table.
func (h *harness) routes() map[string]string {
	out := map[string]string{}
	for _, rt := range h.sim.Snapshot().RouteTables {
		for _, r := range rt.Routes {
			if r.Destination == vip.String()+"/32" {
				out[rt.ID] = r.InstanceID
			}
		}
	}
	return out
}

// owner reads the owner parameter: instance, token and version.
func (h *harness) owner() (string, uint64, int64) {
	h.t.Helper()
	out, err := h.ssmClient().GetParameter(h.t.Context(), &awsssm.GetParameterInput{Name: aws.String(ownerParam)})
	if err != nil {
		return "", 0, 0
	}
	id, tok, err := controller.ParseOwner(aws.ToString(out.Parameter.Value))
	if err != nil {
		h.t.Fatalf("owner parameter: %v", err)
	}
	return id, tok, out.Parameter.Version
}

// waitFirstOwner waits until the controller has routed the VIP to one of
// the instances (whichever was healthy first) and returns it and the other.
func (h *harness) waitFirstOwner(t *testing.T) (owner, other string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		switch h.servedBy() {
		case instA:
			return instA, instB
		case instB:
			return instB, instA
		}
		if time.Now().After(deadline) {
			t.Fatalf("the VIP is not served within 10s (routes: %v)", h.routes())
		}
		time.Sleep(5 * time.Millisecond) // polling the data plane
	}
}
