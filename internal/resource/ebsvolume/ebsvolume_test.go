package ebsvolume_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/resource/ebsvolume"
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
  - {id: i-0a000000000000001, name: a, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd}
  - {id: i-0b000000000000001, name: b, subnet: subnet-0a000000000000001, private-ip: 10.0.1.11, role: vipd}
volumes:
  - {id: vol-0a000000000000001, az: a, size: 10, instance: a, device: /dev/sdf}
  - {id: vol-0b000000000000001, az: b, size: 10}
roles:
  - name: vipd
    statements:
      - {actions: ["ec2:DescribeVolumes", "ec2:DescribeInstances"]}
      - actions: [ec2:AttachVolume, ec2:DetachVolume]
        resources: ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:instance/*"]
      - actions: [ec2:StopInstances]
        resources: ["arn:aws:ec2:*:*:instance/*"]
`

const vol = "vol-0a000000000000001"

// device records the host side, standing in for *ebsvolume.Host; busy
// makes Unmount fail as a file system in use does.
type device struct {
	mu      sync.Mutex
	mounted bool
	busy    bool
	ops     []string
}

func (d *device) Wait(_ context.Context, id, dev string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ops = append(d.ops, "wait "+id+" "+dev)
	return "/dev/nvme1n1", nil
}

func (d *device) Mount(_ context.Context, dev string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.mounted {
		d.ops = append(d.ops, "mount "+dev)
	}
	d.mounted = true
	return nil
}

func (d *device) Unmount(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.busy {
		return fmt.Errorf("unmount /data: %w", ebsvolume.ErrBusy)
	}
	if d.mounted {
		d.ops = append(d.ops, "unmount")
	}
	d.mounted = false
	return nil
}

func (d *device) Mounted(context.Context) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mounted, nil
}

func volState(t *testing.T, s *vpcsim.Server, id string) vpcsim.VolumeState {
	t.Helper()
	for _, v := range s.Snapshot().Volumes {
		if v.ID == id {
			return v
		}
	}
	t.Fatalf("no volume %s", id)
	return vpcsim.VolumeState{}
}

func setup(t *testing.T, opts vpcsim.Options) (*vpcsim.Server, resourcetest.Node, resourcetest.Node) {
	testenv.AWS(t)
	s := vpcsimtest.NewServerOptions(t, vpcsimtest.ParseWorld(t, world), opts)
	return s, resourcetest.NewNode(t, s, "i-0a000000000000001"), resourcetest.NewNode(t, s, "i-0b000000000000001")
}

func newResource(t *testing.T, n resourcetest.Node, cfg config.EBSVolume, d ebsvolume.Device) *ebsvolume.Resource {
	return ebsvolume.New(cfg, n.Clients.EC2, ebsvolume.Options{Device: d, PollInterval: 20 * time.Millisecond}, resourcetest.Logger(t))
}

func TestMoveAndMount(t *testing.T) {
	s, a, b := setup(t, vpcsim.Options{})
	ctx := t.Context()
	da, db := &device{}, &device{}
	cfg := config.EBSVolume{VolumeID: vol, MountPoint: "/data"}
	ra, rb := newResource(t, a, cfg, da), newResource(t, b, cfg, db)

	if err := ra.Acquire(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if n := resourcetest.Calls(s, "AttachVolume") + resourcetest.Calls(s, "DetachVolume"); n != 0 {
		t.Errorf("acquiring a volume already attached made %d attach/detach calls", n)
	}
	if err := ra.Release(ctx, a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if err := rb.Acquire(ctx, b.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if got := volState(t, s, vol); got.Instance != "i-0b000000000000001" || got.AttachmentStatus != "attached" || got.Device != "/dev/sdf" {
		t.Errorf("after b's acquire: %+v", got)
	}
	if want := []string{"wait vol-0a000000000000001 /dev/sdf", "mount /dev/nvme1n1"}; fmt.Sprint(db.ops) != fmt.Sprint(want) {
		t.Errorf("b's device ops = %q, want %q", db.ops, want)
	}
	if fmt.Sprint(da.ops) != fmt.Sprint([]string{"wait vol-0a000000000000001 /dev/sdf", "mount /dev/nvme1n1", "unmount"}) {
		t.Errorf("a's device ops = %q", da.ops)
	}
	if st, err := rb.Check(ctx, b.Self); err != nil || !st.InSync {
		t.Errorf("b's Check = %+v, %v", st, err)
	}
	st, err := ra.Check(ctx, a.Self)
	if err != nil || st.InSync || !strings.Contains(st.Drift[0], "attached to i-0b000000000000001 at /dev/sdf") {
		t.Errorf("a's Check = %+v, %v", st, err)
	}
	// Host drift: the file system was unmounted behind vipd's back.
	db.Unmount(ctx)
	if st, _ := rb.Check(ctx, b.Self); st.InSync || st.Drift[0] != "vol-0a000000000000001: not mounted on /data" {
		t.Errorf("Check after an unmount = %+v", st)
	}
	if err := rb.Acquire(ctx, b.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if st, _ := rb.Check(ctx, b.Self); !st.InSync {
		t.Errorf("Check after repair = %+v", st)
	}
	if n := resourcetest.ForcedCalls(s, "DetachVolume"); n != 0 {
		t.Errorf("%d forced detaches", n)
	}
}

func TestReleaseRefusesBusyFileSystem(t *testing.T) {
	s, a, _ := setup(t, vpcsim.Options{})
	d := &device{}
	r := newResource(t, a, config.EBSVolume{VolumeID: vol, MountPoint: "/data"}, d)
	if err := r.Acquire(t.Context(), a.Self, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	d.busy = true
	err := r.Release(t.Context(), a.Self, resourcetest.Token(1))
	if !errors.Is(err, ebsvolume.ErrBusy) {
		t.Fatalf("Release of a busy file system = %v, want ErrBusy", err)
	}
	if got := volState(t, s, vol); got.Instance != "i-0a000000000000001" {
		t.Errorf("a busy volume was detached: %+v", got)
	}
	if n := resourcetest.Calls(s, "DetachVolume"); n != 0 {
		t.Errorf("%d DetachVolume calls after a failed unmount", n)
	}
}

func TestForceDetach(t *testing.T) {
	t.Run("from a stopped owner at once", func(t *testing.T) {
		s, _, b := setup(t, vpcsim.Options{})
		if err := s.SetInstanceState("i-0a000000000000001", "stopped"); err != nil {
			t.Fatal(err)
		}
		if err := newResource(t, b, config.EBSVolume{VolumeID: vol}, nil).Acquire(t.Context(), b.Self, resourcetest.Token(1)); err != nil {
			t.Fatal(err)
		}
		if n := resourcetest.ForcedCalls(s, "DetachVolume"); n != 1 {
			t.Errorf("forced detaches = %d, want 1", n)
		}
	})
	t.Run("from a live owner after the timeout", func(t *testing.T) {
		s, _, b := setup(t, vpcsim.Options{Timing: vpcsim.Timing{VolumeDetach: vpcsim.Dist{Median: 3 * time.Second}}})
		r := newResource(t, b, config.EBSVolume{VolumeID: vol, DetachTimeout: 300 * time.Millisecond}, nil)
		if err := r.Acquire(t.Context(), b.Self, resourcetest.Token(1)); err != nil {
			t.Fatal(err)
		}
		if n := resourcetest.ForcedCalls(s, "DetachVolume"); n != 1 {
			t.Errorf("forced detaches = %d, want 1", n)
		}
		if got := volState(t, s, vol); got.Instance != "i-0b000000000000001" {
			t.Errorf("after acquire: %+v", got)
		}
	})
}

func TestFailures(t *testing.T) {
	t.Run("volume in use", func(t *testing.T) {
		s, _, b := setup(t, vpcsim.Options{})
		if _, err := s.InjectFault(vpcsim.Fault{Action: "AttachVolume", Kind: vpcsim.FaultError, Code: "VolumeInUse", Count: 1}); err != nil {
			t.Fatal(err)
		}
		err := newResource(t, b, config.EBSVolume{VolumeID: vol}, nil).Acquire(t.Context(), b.Self, resourcetest.Token(1))
		if !awsapi.IsCode(err, "VolumeInUse") {
			t.Errorf("Acquire = %v, want VolumeInUse", err)
		}
	})
	t.Run("another zone", func(t *testing.T) {
		s, _, b := setup(t, vpcsim.Options{})
		err := newResource(t, b, config.EBSVolume{VolumeID: "vol-0b000000000000001"}, nil).Acquire(t.Context(), b.Self, resourcetest.Token(1))
		if err == nil || !strings.Contains(err.Error(), "zone us-east-1b") {
			t.Errorf("Acquire = %v, want a zone refusal", err)
		}
		if n := resourcetest.Calls(s, "AttachVolume"); n != 0 {
			t.Errorf("%d AttachVolume calls", n)
		}
	})
}

// TestTagSelectedVolume: a volume selected by tags moves like one named by
// id; tags that select no volume, or several, are errors naming the tags
// or every volume they select.
func TestTagSelectedVolume(t *testing.T) {
	s, _, b := setup(t, vpcsim.Options{})
	ctx := t.Context()
	admin := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, s))
	cfg := config.EBSVolume{Tags: []config.Tag{{Key: "vipd", Value: "data"}}}
	rb := newResource(t, b, cfg, &device{})
	if err := rb.Acquire(ctx, b.Self, resourcetest.Token(1)); err == nil || !strings.Contains(err.Error(), "no volume has the tags vipd=data") {
		t.Fatalf("acquire with no tagged volume: %v, want an error naming the tags", err)
	}
	tag := func(ids ...string) {
		t.Helper()
		if _, err := admin.CreateTags(ctx, &awsec2.CreateTagsInput{Resources: ids, Tags: []ec2types.Tag{{Key: aws.String("vipd"), Value: aws.String("data")}}}); err != nil {
			t.Fatal(err)
		}
	}
	tag(vol)
	if err := rb.Acquire(ctx, b.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if got := volState(t, s, vol); got.Instance != b.Self.InstanceID || got.AttachmentStatus != "attached" {
		t.Errorf("after b's acquire: %+v", got)
	}
	if st, err := rb.Check(ctx, b.Self); err != nil || !st.InSync {
		t.Errorf("b's Check = %+v, %v", st, err)
	}
	tag("vol-0b000000000000001")
	_, err := rb.Check(ctx, b.Self)
	if err == nil || !strings.Contains(err.Error(), "select 2 volumes (vol-0a000000000000001, vol-0b000000000000001)") {
		t.Errorf("check with two tagged volumes: %v, want an error naming both", err)
	}
}

// TestFenceBeforeForcedDetach: with STONITH, a previous owner that is
// running and does not let go within the detach timeout is stopped (a
// forced StopInstances, then stopped) before the volume is detached from
// it, by force, and attached here; one that lets go is not fenced.
func TestFenceBeforeForcedDetach(t *testing.T) {
	s, a, b := setup(t, vpcsim.Options{Timing: vpcsim.Timing{InstanceStop: vpcsim.Dist{Median: 800 * time.Millisecond}}})
	ctx := t.Context()
	cfg := config.EBSVolume{VolumeID: vol, DetachTimeout: 300 * time.Millisecond}
	fencer := stonith.New(b.Clients.EC2, stonith.Options{Timeout: 10 * time.Second, PollInterval: 20 * time.Millisecond})
	rb := ebsvolume.New(cfg, b.Clients.EC2, ebsvolume.Options{Device: &device{}, PollInterval: 20 * time.Millisecond, Fencer: fencer}, resourcetest.Logger(t))
	if err := rb.Acquire(ctx, b.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range s.Calls(0) {
		switch {
		case c.Action == "StopInstances" || c.Action == "DetachVolume" || c.Action == "AttachVolume":
			order = append(order, fmt.Sprintf("%s force=%s token=%d", c.Action, c.Params["Force"], c.Token))
		}
	}
	want := []string{"StopInstances force=true token=2", "DetachVolume force=true token=2", "AttachVolume force= token=2"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("writes %q, want %q", order, want)
	}
	for _, in := range s.Snapshot().Instances {
		if in.ID == a.Self.InstanceID && in.State != "stopped" {
			t.Errorf("previous owner is %s, want stopped", in.State)
		}
	}
	if got := volState(t, s, vol); got.Instance != b.Self.InstanceID || got.AttachmentStatus != "attached" {
		t.Errorf("after b's acquire: %+v", got)
	}

	// Back to a, which b hands over: b's release lets go, so a fences
	// nobody.
	if err := s.SetInstanceState(a.Self.InstanceID, "running"); err != nil {
		t.Fatal(err)
	}
	if err := rb.Release(ctx, b.Self, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	fa := stonith.New(a.Clients.EC2, stonith.Options{})
	ra := ebsvolume.New(cfg, a.Clients.EC2, ebsvolume.Options{Device: &device{}, PollInterval: 20 * time.Millisecond, Fencer: fa}, resourcetest.Logger(t))
	if err := ra.Acquire(ctx, a.Self, resourcetest.Token(3)); err != nil {
		t.Fatal(err)
	}
	if n := resourcetest.Calls(s, "StopInstances"); n != 1 {
		t.Errorf("StopInstances calls %d, want still 1 after a planned handover", n)
	}
}
