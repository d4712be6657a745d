package stonith_test

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource/resourcetest"
	"github.com/vipd/vipd/internal/stonith"
	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const world = `
vpcs: [{id: vpc-0a000000000000001, cidr: 10.0.0.0/16}]
subnets:
  - {id: subnet-0a000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.1.0/24, az: a}
instances:
  - {id: i-0a000000000000001, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd}
  - {id: i-0b000000000000001, subnet: subnet-0a000000000000001, private-ip: 10.0.1.11, role: vipd}
roles:
  - name: vipd
    statements:
      - {actions: ["ec2:DescribeInstances"]}
      - actions: [ec2:StopInstances]
        resources: ["arn:aws:ec2:*:*:instance/*"]
`

const (
	a = "i-0a000000000000001"
	b = "i-0b000000000000001"
)

// setup starts vpcsim with a forced stop taking about stop, and returns
// node a's Fencer.
func setup(t *testing.T, stop time.Duration, timeout time.Duration) (*vpcsim.Server, *stonith.Fencer) {
	testenv.AWS(t)
	// A forced stop takes a quarter of InstanceStop (vpcsim, as fence_aws
	// relies on: no OS shutdown).
	s := vpcsimtest.NewServerOptions(t, vpcsimtest.ParseWorld(t, world), vpcsim.Options{Timing: vpcsim.Timing{InstanceStop: vpcsim.Dist{Median: 4 * stop}}})
	n := resourcetest.NewNode(t, s, a)
	return s, stonith.New(n.Clients.EC2, stonith.Options{Timeout: timeout, PollInterval: 20 * time.Millisecond, Log: resourcetest.Logger(t)})
}

func state(t *testing.T, s *vpcsim.Server, id string) string {
	t.Helper()
	for _, in := range s.Snapshot().Instances {
		if in.ID == id {
			return in.State
		}
	}
	t.Fatalf("no instance %s", id)
	return ""
}

// TestStopsAndWaitsUntilStopped: the fence sends StopInstances with Force
// once and returns only when EC2 reports the instance stopped.
func TestStopsAndWaitsUntilStopped(t *testing.T) {
	s, f := setup(t, 300*time.Millisecond, time.Minute)
	start := time.Now()
	if err := f.Stop(t.Context(), resourcetest.Token(3), a, b); err != nil {
		t.Fatal(err)
	}
	if got := state(t, s, b); got != "stopped" {
		t.Errorf("fenced instance is %s, want stopped", got)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("fence returned after %s, before the stop could finish", d)
	}
	if n, forced := resourcetest.Calls(s, "StopInstances"), resourcetest.ForcedCalls(s, "StopInstances"); n != 1 || forced != 1 {
		t.Errorf("StopInstances calls %d (forced %d), want one forced", n, forced)
	}
	var tok uint64
	for _, c := range s.Calls(0) {
		if c.Action == "StopInstances" {
			tok = c.Token
		}
	}
	if tok != 3 {
		t.Errorf("StopInstances carried token %d, want 3", tok)
	}
	// Fencing an instance that is already stopped sends nothing.
	if err := f.Stop(t.Context(), resourcetest.Token(4), a, b); err != nil {
		t.Fatal(err)
	}
	if n := resourcetest.Calls(s, "StopInstances"); n != 1 {
		t.Errorf("StopInstances calls after fencing a stopped instance: %d, want still 1", n)
	}
}

// TestGuards: a node never fences itself, and never fences without a
// grant valid for the call: neither sends StopInstances.
func TestGuards(t *testing.T) {
	s, f := setup(t, 0, time.Minute)
	if err := f.Stop(t.Context(), resourcetest.Token(1), a, a); !errors.Is(err, stonith.ErrRefused) {
		t.Errorf("fence self: %v, want ErrRefused", err)
	}
	lost := fence.New(2, func(uint64) (time.Time, bool) { return time.Time{}, false })
	if err := f.Stop(t.Context(), lost, a, b); !errors.Is(err, fence.ErrStale) {
		t.Errorf("fence without the lease: %v, want ErrStale", err)
	}
	if n := resourcetest.Calls(s, "StopInstances"); n != 0 {
		t.Errorf("StopInstances calls %d, want none", n)
	}
	if got := state(t, s, b); got != "running" {
		t.Errorf("instance b is %s, want running", got)
	}
}

// TestUnhealthyNodeNeverFences: a node whose own checks fail sends no
// StopInstances, even as the lease holder: the instance it would stop may
// be the last healthy member. Healthy is read at the call, so a node that
// turns unhealthy while it waits for a previous owner does not fence.
func TestUnhealthyNodeNeverFences(t *testing.T) {
	testenv.AWS(t)
	s := vpcsimtest.NewServerOptions(t, vpcsimtest.ParseWorld(t, world), vpcsim.Options{})
	n := resourcetest.NewNode(t, s, a)
	var healthy atomic.Bool
	f := stonith.New(n.Clients.EC2, stonith.Options{Timeout: 5 * time.Second, PollInterval: 20 * time.Millisecond,
		Log: resourcetest.Logger(t), Healthy: healthy.Load})
	if err := f.Stop(t.Context(), resourcetest.Token(1), a, b); !errors.Is(err, stonith.ErrRefused) {
		t.Errorf("fence by an unhealthy node: %v, want ErrRefused", err)
	}
	if err := f.StopAt(t.Context(), resourcetest.Token(1), a, "", netip.MustParseAddr("10.0.1.11")); !errors.Is(err, stonith.ErrRefused) {
		t.Errorf("fence by address by an unhealthy node: %v, want ErrRefused", err)
	}
	if n := resourcetest.Calls(s, "StopInstances"); n != 0 {
		t.Errorf("StopInstances calls %d, want none", n)
	}
	if got := state(t, s, b); got != "running" {
		t.Errorf("instance b is %s, want running", got)
	}
	healthy.Store(true)
	if err := f.Stop(t.Context(), resourcetest.Token(1), a, b); err != nil {
		t.Fatalf("fence by a healthy node: %v", err)
	}
	if got := state(t, s, b); got != "stopped" {
		t.Errorf("instance b is %s, want stopped", got)
	}
}

// TestStopAtFindsTheMember: a member named by its private address (as
// the raft peers are) is found with DescribeInstances and stopped; its
// own address is this node's instance, which is refused; an address no
// instance holds is an error, nothing stopped.
func TestStopAtFindsTheMember(t *testing.T) {
	s, f := setup(t, 50*time.Millisecond, 5*time.Second)
	tok := resourcetest.Token(1)
	if err := f.StopAt(t.Context(), tok, a, "vpc-0a000000000000001", netip.MustParseAddr("10.0.1.12")); err == nil || errors.Is(err, stonith.ErrRefused) {
		t.Errorf("fence of an address no instance holds: %v, want an error finding it", err)
	}
	if err := f.StopAt(t.Context(), tok, a, "vpc-0a000000000000001", netip.MustParseAddr("10.0.1.10")); !errors.Is(err, stonith.ErrRefused) {
		t.Errorf("fence of this node's own address: %v, want ErrRefused", err)
	}
	if n := resourcetest.Calls(s, "StopInstances"); n != 0 {
		t.Errorf("StopInstances calls %d before the real fence, want none", n)
	}
	if err := f.StopAt(t.Context(), tok, a, "vpc-0a000000000000001", netip.MustParseAddr("10.0.1.11")); err != nil {
		t.Fatalf("fence of the member at 10.0.1.11: %v", err)
	}
	if got := state(t, s, b); got != "stopped" {
		t.Errorf("instance b is %s, want stopped", got)
	}
}

// TestTimeoutIsAnError: a stop that EC2 does not finish within Timeout is
// ErrNotStopped, so that the caller leaves the volume alone.
func TestTimeoutIsAnError(t *testing.T) {
	s, f := setup(t, 10*time.Second, 300*time.Millisecond)
	err := f.Stop(t.Context(), resourcetest.Token(1), a, b)
	if !errors.Is(err, stonith.ErrNotStopped) {
		t.Fatalf("fence of a slow stop: %v, want ErrNotStopped", err)
	}
	if got := state(t, s, b); got != "stopping" {
		t.Errorf("instance b is %s, want stopping", got)
	}
}
