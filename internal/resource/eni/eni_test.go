package eni_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/osnet"
	"github.com/vipd/vipd/internal/resource/eni"
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
  - {id: subnet-0e000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.9.0/24, az: a}
  - {id: subnet-0b000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.2.0/24, az: b}
instances:
  - {id: i-0a000000000000001, name: a, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd, eni-id: eni-0a000000000000001}
  - {id: i-0b000000000000001, name: b, subnet: subnet-0a000000000000001, private-ip: 10.0.1.11, role: vipd, eni-id: eni-0b000000000000001}
network-interfaces:
  - {id: eni-0e000000000000001, subnet: subnet-0e000000000000001, private-ip: 10.0.9.50, mac: "02:00:00:00:0e:01", instance: a, device-index: 1}
  - {id: eni-0f000000000000001, subnet: subnet-0b000000000000001, private-ip: 10.0.2.50}
roles:
  - name: vipd
    statements:
      - {actions: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances"]}
      - actions: [ec2:AttachNetworkInterface, ec2:DetachNetworkInterface]
        resources: ["arn:aws:ec2:*:*:network-interface/eni-0e000000000000001", "arn:aws:ec2:*:*:instance/*"]
`

const moved = "eni-0e000000000000001"

// host records what the resource asks of the host, standing in for
// osnet.PolicyRouting (tested on a real namespace in osnet).
type host struct {
	mu      sync.Mutex
	applied map[string]osnet.Policy
	ops     []string
}

func newHost() *host { return &host{applied: map[string]osnet.Policy{}} }

func (h *host) WaitLink(_ context.Context, mac net.HardwareAddr) (string, error) {
	return "eth1", nil
}

func (h *host) Apply(_ context.Context, p osnet.Policy) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.applied[p.MAC.String()] = p
	h.ops = append(h.ops, "apply "+p.String())
	return nil
}

func (h *host) Remove(_ context.Context, p osnet.Policy) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.applied, p.MAC.String())
	h.ops = append(h.ops, "remove "+p.String())
	return nil
}

func (h *host) Drift(_ context.Context, p osnet.Policy) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.applied[p.MAC.String()]; !ok {
		return []string{"policy routing missing"}, nil
	}
	return nil, nil
}

func ifaceState(t *testing.T, s *vpcsim.Server, id string) vpcsim.NetworkInterfaceState {
	t.Helper()
	for _, e := range s.Snapshot().NetworkInterfaces {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no interface %s", id)
	return vpcsim.NetworkInterfaceState{}
}

func newResource(t *testing.T, n resourcetest.Node, cfg config.ENI, h eni.Host) *eni.Resource {
	return eni.New(cfg, n.Clients.EC2, eni.Options{IMDS: n.Clients.IMDS, Host: h, PollInterval: 20 * time.Millisecond}, resourcetest.Logger(t))
}

func setup(t *testing.T, opts vpcsim.Options) (*vpcsim.Server, resourcetest.Node, resourcetest.Node) {
	testenv.AWS(t)
	s := vpcsimtest.NewServerOptions(t, vpcsimtest.ParseWorld(t, world), opts)
	return s, resourcetest.NewNode(t, s, "i-0a000000000000001"), resourcetest.NewNode(t, s, "i-0b000000000000001")
}

func TestMoveFromLiveOwner(t *testing.T) {
	s, a, b := setup(t, vpcsim.Options{})
	ctx := t.Context()
	ha, hb := newHost(), newHost()
	ra := newResource(t, a, config.ENI{ID: moved}, ha)
	rb := newResource(t, b, config.ENI{ID: moved}, hb)

	if err := ra.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatalf("a acquires what it already has: %v", err)
	}
	if n := resourcetest.Calls(s, "AttachNetworkInterface") + resourcetest.Calls(s, "DetachNetworkInterface"); n != 0 {
		t.Errorf("acquiring an interface already attached made %d attach/detach calls", n)
	}
	if err := ra.Release(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := ifaceState(t, s, moved); got.Instance != "" {
		t.Errorf("after a's release: attached to %q", got.Instance)
	}
	if err := ra.Acquire(ctx, a.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if err := rb.Acquire(ctx, b.Self, resourcetest.Token(3)); err != nil {
		t.Fatal(err)
	}
	got := ifaceState(t, s, moved)
	if got.Instance != "i-0b000000000000001" || got.DeviceIndex != 1 || got.AttachmentStatus != "attached" {
		t.Errorf("after b's acquire: %+v", got)
	}
	if n := resourcetest.ForcedCalls(s, "DetachNetworkInterface"); n != 0 {
		t.Errorf("%d forced detaches from a live owner that let go in time", n)
	}
	want := "apply from 10.0.9.0/24 table 100 priority 100 via 10.0.9.1 dev 02:00:00:00:0e:01"
	if len(hb.ops) != 1 || hb.ops[0] != want {
		t.Errorf("b's host ops = %q, want %q", hb.ops, want)
	}
	if st, err := rb.Check(ctx, b.Self); err != nil || !st.InSync {
		t.Errorf("b's Check = %+v, %v", st, err)
	}
	st, err := ra.Check(ctx, a.Self)
	if err != nil || st.InSync || !strings.Contains(st.Drift[0], "attached to i-0b000000000000001 device 1") {
		t.Errorf("a's Check after b took it = %+v, %v", st, err)
	}
	// Drift on the host: b's policy routing vanished (a reboot, an
	// operator); Check sees it and Acquire puts it back without AWS calls.
	hb.Remove(ctx, osnet.Policy{MAC: net.HardwareAddr{2, 0, 0, 0, 0x0e, 1}})
	if st, _ := rb.Check(ctx, b.Self); st.InSync {
		t.Error("Check did not notice the missing policy routing")
	}
	before := resourcetest.Calls(s, "AttachNetworkInterface")
	if err := rb.Acquire(ctx, b.Self, resourcetest.Token(3)); err != nil {
		t.Fatal(err)
	}
	if st, _ := rb.Check(ctx, b.Self); !st.InSync || resourcetest.Calls(s, "AttachNetworkInterface") != before {
		t.Errorf("repair: Check = %+v, attach calls %d → %d", st, before, resourcetest.Calls(s, "AttachNetworkInterface"))
	}
	// a's late release must not detach it from b.
	if err := ra.Release(ctx, a.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if got := ifaceState(t, s, moved); got.Instance != "i-0b000000000000001" {
		t.Errorf("a's late release moved it: %+v", got)
	}
	if err := rb.Release(ctx, b.Self, resourcetest.Token(3)); err != nil {
		t.Fatal(err)
	}
	if len(hb.applied) != 0 {
		t.Errorf("b's release left policy routing: %v", hb.applied)
	}
}

func TestForceDetachFromDeadOwner(t *testing.T) {
	s, _, b := setup(t, vpcsim.Options{})
	if err := s.SetInstanceState("i-0a000000000000001", "stopped"); err != nil {
		t.Fatal(err)
	}
	r := newResource(t, b, config.ENI{PrivateIP: "10.0.9.50"}, newHost())
	if err := r.Acquire(t.Context(), b.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := ifaceState(t, s, moved); got.Instance != "i-0b000000000000001" {
		t.Errorf("after acquire: %+v", got)
	}
	if n := resourcetest.ForcedCalls(s, "DetachNetworkInterface"); n != 1 {
		t.Errorf("forced detaches = %d, want 1 for a stopped previous owner", n)
	}
}

// TestStuckDetaching models an owner whose OS does not let go: a detach
// that takes 3 s. After the 300 ms detach-timeout the resource forces it
// (vpcsim halves the remaining wait for a forced detach, as AWS cuts it
// short), so the move completes well before a normal detach would.
func TestStuckDetaching(t *testing.T) {
	s, _, b := setup(t, vpcsim.Options{Timing: vpcsim.Timing{ENIDetach: vpcsim.Dist{Median: 3 * time.Second}}})
	r := newResource(t, b, config.ENI{ID: moved, DetachTimeout: 300 * time.Millisecond}, newHost())
	start := time.Now()
	if err := r.Acquire(t.Context(), b.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2900*time.Millisecond {
		t.Errorf("move took %s; the forced detach should finish in about 1.8s", d)
	}
	if n := resourcetest.ForcedCalls(s, "DetachNetworkInterface"); n != 1 {
		t.Errorf("forced detaches = %d, want 1 after the detach timeout", n)
	}
	if got := ifaceState(t, s, moved); got.Instance != "i-0b000000000000001" {
		t.Errorf("after acquire: %+v", got)
	}
}

func TestStuckDetachingBeyondDeadline(t *testing.T) {
	s, _, b := setup(t, vpcsim.Options{Timing: vpcsim.Timing{ENIDetach: vpcsim.Dist{Median: time.Minute}}})
	r := newResource(t, b, config.ENI{ID: moved, DetachTimeout: 200 * time.Millisecond, AttachTimeout: 300 * time.Millisecond}, newHost())
	err := r.Acquire(t.Context(), b.Self, resourcetest.Token(1))
	if err == nil || !strings.Contains(err.Error(), "still detaching on i-0a000000000000001") {
		t.Errorf("Acquire = %v; want a timeout naming the detaching state", err)
	}
	if n := resourcetest.ForcedCalls(s, "DetachNetworkInterface"); n != 1 {
		t.Errorf("forced detaches = %d, want 1", n)
	}
}

func TestRefuseOtherZone(t *testing.T) {
	s, _, b := setup(t, vpcsim.Options{})
	r := newResource(t, b, config.ENI{ID: "eni-0f000000000000001"}, newHost())
	err := r.Acquire(t.Context(), b.Self, resourcetest.Token(1))
	if err == nil || !strings.Contains(err.Error(), "availability zone us-east-1b and this instance in us-east-1a") {
		t.Errorf("Acquire = %v; want a zone refusal", err)
	}
	if n := resourcetest.Calls(s, "AttachNetworkInterface"); n != 0 {
		t.Errorf("%d attach calls for an interface in another zone", n)
	}
}

func TestAttachRefused(t *testing.T) {
	s, _, b := setup(t, vpcsim.Options{})
	if _, err := s.InjectFault(vpcsim.Fault{Action: "AttachNetworkInterface", Kind: vpcsim.FaultError, Code: "UnauthorizedOperation", Status: 403}); err != nil {
		t.Fatal(err)
	}
	r := newResource(t, b, config.ENI{ID: moved}, newHost())
	if err := r.Acquire(t.Context(), b.Self, resourcetest.Token(1)); !awsapi.IsCode(err, awsapi.CodeUnauthorizedOperation) {
		t.Errorf("Acquire = %v, want UnauthorizedOperation", err)
	}
}
