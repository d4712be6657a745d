package elasticip_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/resource/elasticip"
	"github.com/vipd/vipd/internal/resource/resourcetest"
	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const world = `
vpcs: [{id: vpc-0a000000000000001, cidr: 10.0.0.0/16}]
subnets:
  - {id: subnet-0a000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.1.0/24, az: a}
  - {id: subnet-0b000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.2.0/24, az: b}
instances:
  - {id: i-0a000000000000001, name: a, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, secondary-ips: [10.0.1.100], role: vipd, eni-id: eni-0a000000000000001}
  - {id: i-0b000000000000001, name: b, subnet: subnet-0b000000000000001, private-ip: 10.0.2.10, role: vipd, eni-id: eni-0b000000000000001}
network-interfaces:
  - {id: eni-0a000000000000002, subnet: subnet-0a000000000000001, private-ip: 10.0.1.20, secondary-ips: [10.0.1.21], instance: a, device-index: 1}
elastic-ips:
  - {id: eipalloc-0a000000000000001, public-ip: 203.0.113.50, instance: b}
roles:
  - name: vipd
    statements:
      - {actions: ["ec2:DescribeAddresses", "ec2:DescribeNetworkInterfaces"]}
      - actions: [ec2:AssociateAddress, ec2:DisassociateAddress]
        resources: ["arn:aws:ec2:*:*:elastic-ip/eipalloc-0a000000000000001", "arn:aws:ec2:*:*:network-interface/*", "arn:aws:ec2:*:*:instance/*"]
`

const alloc = "eipalloc-0a000000000000001"

func eip(t *testing.T, s *vpcsim.Server) vpcsim.ElasticIPState {
	t.Helper()
	for _, e := range s.Snapshot().ElasticIPs {
		if e.ID == alloc {
			return e
		}
	}
	t.Fatalf("no address %s", alloc)
	return vpcsim.ElasticIPState{}
}

func setup(t *testing.T) (*vpcsim.Server, resourcetest.Node, resourcetest.Node) {
	testenv.AWS(t)
	s := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, world))
	return s, resourcetest.NewNode(t, s, "i-0a000000000000001"), resourcetest.NewNode(t, s, "i-0b000000000000001")
}

func TestAcquireTakesTheAddressAndReleaseLetsGo(t *testing.T) {
	s, a, b := setup(t)
	ctx := t.Context()
	ra := elasticip.New(config.ElasticIP{AllocationID: alloc}, a.Clients.EC2, elasticip.Options{}, resourcetest.Logger(t))
	rb := elasticip.New(config.ElasticIP{AllocationID: alloc}, b.Clients.EC2, elasticip.Options{}, resourcetest.Logger(t))

	st, err := ra.Check(ctx, a.Self)
	if err != nil || st.InSync || !strings.Contains(st.Drift[0], "on i-0b000000000000001") {
		t.Fatalf("Check while b holds it = %+v, %v", st, err)
	}
	if err := ra.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := eip(t, s); got.Instance != "i-0a000000000000001" || got.PrivateIP != "10.0.1.10" {
		t.Errorf("after a's acquire: %+v", got)
	}
	if err := ra.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if n := resourcetest.Calls(s, "AssociateAddress"); n != 1 {
		t.Errorf("AssociateAddress calls = %d after two acquires, want 1", n)
	}
	// b's release is late: the address is a's now and must stay.
	if err := rb.Release(ctx, b.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := eip(t, s); got.Instance != "i-0a000000000000001" {
		t.Errorf("b's late release moved it: %+v", got)
	}
	if err := ra.Release(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := eip(t, s); got.Instance != "" || got.AssociationID != "" {
		t.Errorf("after a's release: %+v, want unassociated", got)
	}
	if st, err := ra.Check(ctx, a.Self); err != nil || st.InSync || st.Drift[0] != "203.0.113.50: not associated" {
		t.Errorf("Check after release = %+v, %v", st, err)
	}
}

func TestPrivateAddressOnDeviceIndex(t *testing.T) {
	s, a, _ := setup(t)
	r := elasticip.New(config.ElasticIP{AllocationID: alloc, PrivateIP: "10.0.1.21", DeviceIndex: 1}, a.Clients.EC2, elasticip.Options{}, resourcetest.Logger(t))
	if err := r.Acquire(t.Context(), a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := eip(t, s); got.NetworkInterface != "eni-0a000000000000002" || got.PrivateIP != "10.0.1.21" {
		t.Errorf("after acquire: %+v", got)
	}
	if st, err := r.Check(t.Context(), a.Self); err != nil || !st.InSync {
		t.Errorf("Check = %+v, %v", st, err)
	}
}

func TestDriftRepairAfterReassociationElsewhere(t *testing.T) {
	s, a, _ := setup(t)
	ctx := t.Context()
	r := elasticip.New(config.ElasticIP{AllocationID: alloc, PrivateIP: "10.0.1.100"}, a.Clients.EC2, elasticip.Options{}, resourcetest.Logger(t))
	if err := r.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	// Someone else (a deposed owner, an operator) moves it back to b.
	admin := ec2.NewFromConfig(vpcsimtest.AdminConfig(t, s))
	if _, err := admin.AssociateAddress(ctx, &ec2.AssociateAddressInput{
		AllocationId: aws.String(alloc), InstanceId: aws.String("i-0b000000000000001"), AllowReassociation: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	st, err := r.Check(ctx, a.Self)
	if err != nil || st.InSync {
		t.Fatalf("Check after reassociation elsewhere = %+v, %v; want drift", st, err)
	}
	if want := "203.0.113.50: on i-0b000000000000001 eni-0b000000000000001 (10.0.2.10), want i-0a000000000000001 10.0.1.100"; st.Drift[0] != want {
		t.Errorf("drift = %q, want %q", st.Drift[0], want)
	}
	if err := r.Acquire(ctx, a.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if got := eip(t, s); got.PrivateIP != "10.0.1.100" || got.Instance != "i-0a000000000000001" {
		t.Errorf("after repair: %+v", got)
	}
}

func TestKeepOnReleaseAndFailures(t *testing.T) {
	s, a, _ := setup(t)
	ctx := t.Context()
	r := elasticip.New(config.ElasticIP{AllocationID: alloc, KeepOnRelease: true}, a.Clients.EC2, elasticip.Options{}, resourcetest.Logger(t))
	// Throttled for longer than the step's budget: the acquire fails with
	// EC2's code (a throttled write is retried until its deadline, issue
	// 17).
	if _, err := s.InjectFault(vpcsim.Fault{Action: "AssociateAddress", Kind: vpcsim.FaultError, Code: "RequestLimitExceeded"}); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	err := r.Acquire(sctx, a.Self, resourcetest.Token(1))
	cancel()
	if !awsapi.IsCode(err, awsapi.CodeRequestLimitExceeded) {
		t.Fatalf("Acquire while throttled beyond its budget = %v, want RequestLimitExceeded", err)
	}
	s.ClearFaults(0)
	// Throttled 5 times within the budget: the write waits its turn.
	if _, err := s.InjectFault(vpcsim.Fault{Action: "AssociateAddress", Kind: vpcsim.FaultError, Code: "RequestLimitExceeded", Count: 5}); err != nil {
		t.Fatal(err)
	}
	if err := r.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatalf("Acquire throttled 5 times: %v", err)
	}
	if err := r.Release(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := eip(t, s); got.Instance != "i-0a000000000000001" {
		t.Errorf("after release with keep-on-release: %+v", got)
	}
}
