// Package ebsvolume implements the ebs-volume resource (the keepalived +
// EBS recipe): an EBS
// volume detached from the previous owner (forced when that instance is
// not running, or after DetachTimeout), attached to the owner, and, on the
// host, found by its volume-id serial, checked and mounted. Release
// unmounts first and fails loudly when the file system is busy, leaving
// the volume attached rather than detaching it under a writer.
//
// AWS calls are checked against vpcsim; the host side is a Device, with
// NoDevice for `host: none`.
package ebsvolume

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource"
)

// EC2 is the part of the EC2 API this resource calls; *ec2.Client fits.
type EC2 interface {
	DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	AttachVolume(ctx context.Context, in *ec2.AttachVolumeInput, optFns ...func(*ec2.Options)) (*ec2.AttachVolumeOutput, error)
	DetachVolume(ctx context.Context, in *ec2.DetachVolumeInput, optFns ...func(*ec2.Options)) (*ec2.DetachVolumeOutput, error)
}

// Options tune the resource and give it the host.
type Options struct {
	// CallTimeout bounds each AWS call (default 2s).
	CallTimeout time.Duration
	// Device is the host side; nil means NoDevice.
	Device Device
	// PollInterval is the first pause of the waits for attachment states
	// (default 200ms); pauses double up to 2s.
	PollInterval time.Duration
	// Fencer, when set, stops a previous owner that does not let go
	// before the volume is detached from it, by force (docs/stonith.md).
	Fencer resource.Fencer
}

// Resource is one ebs-volume resource. Its methods are called by the node
// loop's workers one at a time and keep no state between calls.
type Resource struct {
	cfg  config.EBSVolume
	ec2  EC2
	opts Options
	log  *slog.Logger
}

// New returns the resource for cfg, with the defaults of config.EBSVolume
// filled in (device /dev/sdf, detach timeout 20s, attach timeout 60s).
func New(cfg config.EBSVolume, c EC2, opts Options, log *slog.Logger) *Resource {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 2 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	if opts.Device == nil {
		opts.Device = NoDevice{}
	}
	if cfg.Device == "" {
		cfg.Device = "/dev/sdf"
	}
	if cfg.DetachTimeout == 0 {
		cfg.DetachTimeout = 20 * time.Second
	}
	if cfg.AttachTimeout == 0 {
		cfg.AttachTimeout = 60 * time.Second
	}
	return &Resource{cfg: cfg, ec2: c, opts: opts, log: log.With("component", "ebs-volume")}
}

// Name identifies the resource in status and logs.
func (r *Resource) Name() string { return "ebs-volume " + r.label() }

// label names the volume in messages: its id, or its tag selector.
func (r *Resource) label() string {
	if r.cfg.Tags != nil {
		return "tags " + config.TagsString(r.cfg.Tags)
	}
	return r.cfg.VolumeID
}

// Kind is the resource kind as written in the config.
func (r *Resource) Kind() string { return config.KindEBSVolume }

// volume is the volume's attachment as this resource cares about.
type volume struct {
	id       string
	az       string
	state    string // available, in-use, ...
	attached bool   // an attachment exists (any status but detached)
	instance string
	device   string
	status   string // attaching, attached, detaching
}

// describe reads the volume: by id when id is set (the configured one,
// or the one an acquire found), else by the configured tags, found again
// on every read and required to select exactly one volume.
func (r *Resource) describe(ctx context.Context, id string) (volume, error) {
	cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	if id == "" {
		id = r.cfg.VolumeID
	}
	in := &ec2.DescribeVolumesInput{VolumeIds: []string{id}}
	label := id
	if id == "" {
		in, label = &ec2.DescribeVolumesInput{Filters: resource.TagFilters(r.cfg.Tags)}, r.label()
	}
	out, err := r.ec2.DescribeVolumes(cctx, in)
	if err != nil {
		return volume{}, fmt.Errorf("describe volume %s: %w", label, err)
	}
	if id == "" {
		ids := make([]string, len(out.Volumes))
		for i, v := range out.Volumes {
			ids[i] = aws.ToString(v.VolumeId)
		}
		if err := resource.OneTagged("volume", r.cfg.Tags, ids); err != nil {
			return volume{}, fmt.Errorf("describe volume %s: %w", label, err)
		}
	}
	if len(out.Volumes) != 1 {
		return volume{}, fmt.Errorf("describe volume %s: %d volumes found, want 1", label, len(out.Volumes))
	}
	v := out.Volumes[0]
	vol := volume{id: aws.ToString(v.VolumeId), az: aws.ToString(v.AvailabilityZone), state: string(v.State)}
	for _, a := range v.Attachments {
		if a.State == types.VolumeAttachmentStateDetached {
			continue
		}
		vol.attached, vol.instance, vol.device, vol.status = true, aws.ToString(a.InstanceId), aws.ToString(a.Device), string(a.State)
	}
	return vol, nil
}

func (r *Resource) mine(v volume, self resource.Self) bool {
	return v.attached && v.instance == self.InstanceID && v.device == r.cfg.Device
}

// Check reports whether the volume is attached to self at the device and,
// when a mount point is configured, mounted.
func (r *Resource) Check(ctx context.Context, self resource.Self) (resource.Status, error) {
	v, err := r.describe(ctx, "")
	if err != nil {
		return resource.Status{}, err
	}
	var st resource.Status
	switch {
	case !v.attached:
		st.Drift = append(st.Drift, fmt.Sprintf("%s: %s, not attached", v.id, v.state))
	case !r.mine(v, self):
		st.Drift = append(st.Drift, fmt.Sprintf("%s: attached to %s at %s (%s), want %s at %s", v.id, v.instance, v.device, v.status, self.InstanceID, r.cfg.Device))
	case v.status != string(types.VolumeAttachmentStateAttached):
		st.Drift = append(st.Drift, fmt.Sprintf("%s: %s", v.id, v.status))
	}
	if len(st.Drift) == 0 {
		ok, err := r.opts.Device.Mounted(ctx)
		if err != nil {
			return resource.Status{}, fmt.Errorf("check mount of %s: %w", v.id, err)
		}
		if !ok {
			st.Drift = append(st.Drift, fmt.Sprintf("%s: not mounted on %s", v.id, r.cfg.MountPoint))
		}
	}
	st.InSync = len(st.Drift) == 0
	return st, nil
}

// Acquire moves the volume to self and mounts it. Idempotent: a volume
// already attached to self is not touched in AWS, and a mounted file
// system is left alone.
func (r *Resource) Acquire(ctx context.Context, self resource.Self, tok fence.Token) error {
	v, err := r.describe(ctx, "")
	if err != nil {
		return err
	}
	// The rest of the move follows this volume, whatever the tags select
	// meanwhile.
	id := v.id
	if v.az != self.AZ {
		return fmt.Errorf("acquire %s: it is in availability zone %s and this instance in %s; EBS volumes attach only within their zone", id, v.az, self.AZ)
	}
	if v.attached && !r.mine(v, self) {
		if err := r.detach(ctx, tok, self, v); err != nil {
			return err
		}
		v.attached = false
	}
	if v.attached && v.status == string(types.VolumeAttachmentStateDetaching) {
		if err := r.waitFor(ctx, id, r.cfg.DetachTimeout, "available", func(v volume) bool { return !v.attached }); err != nil {
			return err
		}
		v.attached = false
	}
	if !v.attached {
		what := fmt.Sprintf("attach %s to %s at %s", id, self.InstanceID, r.cfg.Device)
		err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
			_, err := r.ec2.AttachVolume(ctx, &ec2.AttachVolumeInput{
				VolumeId: aws.String(id), InstanceId: aws.String(self.InstanceID), Device: aws.String(r.cfg.Device),
			})
			return err
		})
		if err != nil {
			return err
		}
		r.log.Info("volume attaching", "op", what, "instance_id", self.InstanceID, "token", tok.N())
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.AttachTimeout)
	defer cancel()
	if err := r.waitFor(ctx, id, r.cfg.AttachTimeout, "attached", func(v volume) bool {
		return r.mine(v, self) && v.status == string(types.VolumeAttachmentStateAttached)
	}); err != nil {
		return err
	}
	dev, err := r.opts.Device.Wait(ctx, id, r.cfg.Device)
	if err != nil {
		return err
	}
	if err := r.opts.Device.Mount(ctx, dev); err != nil {
		return err
	}
	return nil
}

// detach takes the volume from its current owner: forced at once when
// that instance is not running, else normal and forced after DetachTimeout.
// With a Fencer, detachFenced instead.
func (r *Resource) detach(ctx context.Context, tok fence.Token, self resource.Self, v volume) error {
	if r.opts.Fencer != nil {
		return r.detachFenced(ctx, tok, self, v)
	}
	force := !resource.OwnerRunning(ctx, r.ec2, r.opts.CallTimeout, v.instance, r.log)
	send := func(force bool) error { return r.sendDetach(ctx, tok, v, force) }
	wait := r.cfg.DetachTimeout
	if force {
		wait = r.cfg.AttachTimeout
	}
	if v.status != string(types.VolumeAttachmentStateDetaching) || force {
		if err := send(force); err != nil {
			return err
		}
	}
	available := func(v volume) bool { return !v.attached }
	err := r.waitFor(ctx, v.id, wait, "available", available)
	if err == nil || force || ctx.Err() != nil {
		return err
	}
	// A forced detach can lose the previous owner's unflushed writes; it
	// is the price of a failover, as in the keepalived + EBS recipe's
	// script.
	r.log.Warn("detach did not finish, forcing", "from", v.instance, "duration", r.cfg.DetachTimeout)
	if err := send(true); err != nil {
		return err
	}
	return r.waitFor(ctx, v.id, r.cfg.AttachTimeout, "available", available)
}

// sendDetach detaches the volume from v's instance under tok.
func (r *Resource) sendDetach(ctx context.Context, tok fence.Token, v volume, force bool) error {
	what := fmt.Sprintf("detach %s from %s", v.id, v.instance)
	if force {
		what = "force " + what
	}
	err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
		_, err := r.ec2.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: aws.String(v.id), InstanceId: aws.String(v.instance), Force: aws.Bool(force)})
		return err
	})
	if awsapi.IsCode(err, "IncorrectState") || awsapi.IsCode(err, "InvalidAttachment.NotFound") {
		return nil // detached meanwhile; the wait after it confirms
	}
	if err == nil {
		r.log.Info("volume detaching", "op", what, "from", v.instance, "token", tok.N())
	}
	return err
}

// detachFenced takes the volume from a previous owner with STONITH. The
// owner gets DetachTimeout to let go by itself (losing the lease, its own
// release unmounts and detaches) and is never asked: a running instance
// that still holds the volume then did not hear the cluster or cannot act,
// so it is stopped (Fencer.Stop: StopInstances with Force, then stopped)
// and only then is the volume detached, by force. A fence that fails
// leaves the volume where it is: the acquire fails and is tried again,
// rather than attach the volume next to a writer that may still run.
func (r *Resource) detachFenced(ctx context.Context, tok fence.Token, self resource.Self, v volume) error {
	available := func(v volume) bool { return !v.attached }
	if resource.OwnerRunning(ctx, r.ec2, r.opts.CallTimeout, v.instance, r.log) {
		err := r.waitFor(ctx, v.id, r.cfg.DetachTimeout, "let go by "+v.instance, available)
		if err == nil || ctx.Err() != nil {
			return err
		}
		r.log.Warn("previous owner did not let go of the volume, fencing it", "instance_id", v.instance, "op", "detach "+v.id, "duration", r.cfg.DetachTimeout)
	}
	if err := r.opts.Fencer.Stop(ctx, tok, self.InstanceID, v.instance); err != nil {
		return fmt.Errorf("take %s from %s: %w", v.id, v.instance, err)
	}
	if err := r.sendDetach(ctx, tok, v, true); err != nil {
		return err
	}
	return r.waitFor(ctx, v.id, r.cfg.AttachTimeout, "available", available)
}

func (r *Resource) waitFor(ctx context.Context, id string, timeout time.Duration, what string, done func(volume) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pace := resource.NewBackoff(r.opts.PollInterval, 2*time.Second)
	for {
		v, err := r.describe(ctx, id)
		if err == nil && done(v) {
			return nil
		}
		if err != nil && ctx.Err() == nil && !awsapi.IsCode(err, awsapi.CodeRequestLimitExceeded) {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if !pace.Wait(ctx) {
			state := v.state
			if v.attached {
				state = v.status + " on " + v.instance
			}
			return fmt.Errorf("wait for %s to be %s (%s): still %s: %w", id, what, timeout, state, ctx.Err())
		}
	}
}

// Release unmounts, then detaches the volume if it is still attached to
// self, without waiting for the detach to finish. A busy file system stops
// the release: the volume stays attached and mounted, and the error says
// why, because a detach under a writer loses data.
func (r *Resource) Release(ctx context.Context, self resource.Self, tok fence.Token) error {
	if err := r.opts.Device.Unmount(ctx); err != nil {
		return fmt.Errorf("release %s: %w", r.label(), err)
	}
	v, err := r.describe(ctx, "")
	if err != nil {
		return err
	}
	if !r.mine(v, self) || v.status == string(types.VolumeAttachmentStateDetaching) {
		return nil
	}
	what := fmt.Sprintf("detach %s from %s", v.id, self.InstanceID)
	err = resource.Write(ctx, tok, what, func(ctx context.Context) error {
		_, err := r.ec2.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: aws.String(v.id), InstanceId: aws.String(self.InstanceID)})
		return err
	})
	if awsapi.IsCode(err, "IncorrectState") {
		return nil
	}
	return err
}

// StepTimeout is the longest an Acquire may take with the configured
// timeouts: a detach, a forced detach, then attachment, block device and
// mount within one attach timeout. The node may use it, where it is
// longer, instead of its default step timeout.
func (r *Resource) StepTimeout() time.Duration {
	d := r.cfg.DetachTimeout + 2*r.cfg.AttachTimeout + 5*r.opts.CallTimeout
	if r.opts.Fencer != nil {
		d += r.opts.Fencer.Timeout()
	}
	return d
}
