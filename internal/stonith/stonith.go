// Package stonith stops a previous owner that did not let go ("shoot the
// other node in the head"), as Pacemaker's fence_aws does: StopInstances
// with Force, then DescribeInstances until EC2 reports the instance
// stopped. The eni and ebs-volume kinds call it before they force-detach
// an interface or a volume from another instance (fence.stop-instance,
// docs/stonith.md), so that a forced detach never leaves a live writer
// behind; with fence.before: takeover the node calls StopAt before any
// takeover from a previous holder the cluster cannot reach.
//
// Guards, each checked on every call: a Fencer never stops the instance it
// runs on, and never fences while its own node is not healthy
// (Options.Healthy, right before the call), so the instance it stops is
// never the last healthy member; it sends StopInstances only under a grant
// that is still valid for longer than the token's margin
// (fence.Token.Bound, right before the call), so a node that is not the
// lease holder never fences, and since the holder is the node itself, the
// lease holder is never the one fenced; and it waits at most Timeout for
// the stop, failing rather than reporting a fence it could not see
// happen.
//
// Imported by internal/daemon, which builds one for the resource kinds.
package stonith

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/fence"
)

// EC2 is the part of the EC2 API a Fencer calls; *ec2.Client fits.
type EC2 interface {
	StopInstances(ctx context.Context, in *ec2.StopInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Options tune a Fencer.
type Options struct {
	// Timeout bounds one Stop: the StopInstances call and the wait for
	// stopped (default 5m, config.DefaultFenceTimeout).
	Timeout time.Duration
	// CallTimeout bounds each AWS call (default 2s).
	CallTimeout time.Duration
	// PollInterval is the first pause between two reads of the state
	// (default 500ms); pauses double up to 5s.
	PollInterval time.Duration
	// Log receives the fence's steps; nil discards.
	Log *slog.Logger
	// Healthy reports whether this node's own health checks pass; nil
	// counts as healthy. A node that is not healthy never fences: the
	// instance it would stop may be the last healthy member.
	Healthy func() bool
}

// Fencer stops previous owners. Its methods may be called from any
// goroutine; it keeps no state between calls.
type Fencer struct {
	ec2  EC2
	opts Options
	log  *slog.Logger
}

// New returns a Fencer calling c.
func New(c EC2, o Options) *Fencer {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 2 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Fencer{ec2: c, opts: o, log: o.Log.With("component", "stonith")}
}

// Timeout is how long one Stop may take.
func (f *Fencer) Timeout() time.Duration { return f.opts.Timeout }

// ErrRefused reports a fence a guard refused: of the node itself, of no
// instance, or by a node that is not healthy.
var ErrRefused = errors.New("fence refused")

// ErrNotStopped reports a fence whose target was not seen stopped within
// Timeout. The caller must not take the instance's volume or interface:
// it may still run and write.
var ErrNotStopped = errors.New("fenced instance not stopped")

// Stop fences instance on behalf of self, the lease holder under tok: it
// returns once EC2 reports instance stopped or terminated. An instance
// already stopped is not stopped again; one terminating is waited for. The
// StopInstances call is sent with Force (the OS is not asked: it may be
// the part that hangs) only while tok's grant is valid. On any error the
// instance may still run.
func (f *Fencer) Stop(ctx context.Context, tok fence.Token, self, instance string) error {
	switch {
	case instance == "":
		return fmt.Errorf("fence: no instance named: %w", ErrRefused)
	case instance == self:
		// The node fencing is the lease holder and a healthy member:
		// stopping itself would leave the address with no owner.
		return fmt.Errorf("fence %s: it is this node's own instance: %w", instance, ErrRefused)
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	start := time.Now()
	state, err := f.state(ctx, instance)
	if err != nil {
		return fmt.Errorf("fence %s: %w", instance, err)
	}
	if down(state) {
		f.log.Info("previous owner already down, no fence needed", "instance_id", instance, "state", state)
		return nil
	}
	// A stopping instance is stopped again with Force, as AWS advises for
	// one stuck in stopping; a terminating one is only waited for.
	if state != types.InstanceStateNameShuttingDown {
		if err := f.stop(ctx, tok, instance); err != nil {
			return err
		}
		f.log.Warn("previous owner fenced: stop sent", "instance_id", instance, "state", state, "token", tok.N())
	}
	pace := time.NewTimer(f.opts.PollInterval)
	defer pace.Stop()
	wait := f.opts.PollInterval
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("fence %s: still %s after %s: %w (%w)", instance, state, time.Since(start).Round(time.Millisecond), ErrNotStopped, ctx.Err())
		case <-pace.C:
		}
		s, err := f.state(ctx, instance)
		switch {
		case err == nil:
			state = s
		case ctx.Err() == nil:
			f.log.Warn("read fenced instance's state", "instance_id", instance, "err", err)
		}
		if down(state) {
			f.log.Warn("previous owner fenced: stopped", "instance_id", instance, "state", state, "duration", time.Since(start).Round(time.Millisecond))
			return nil
		}
		wait = min(2*wait, 5*time.Second)
		pace.Reset(wait)
	}
}

// stop sends StopInstances with Force under tok.
func (f *Fencer) stop(ctx context.Context, tok fence.Token, instance string) error {
	// Checked right before the call, as the grant is: this node may have
	// turned unhealthy while it waited for the previous owner to let go,
	// and then the instance it would stop may be the last healthy one.
	if f.opts.Healthy != nil && !f.opts.Healthy() {
		return fmt.Errorf("fence %s: this node is not healthy, and the instance may be the last healthy member: %w", instance, ErrRefused)
	}
	// Bound checks the grant right before the call and cuts the call
	// short at the grant's end: a node that is not the holder never
	// fences.
	bctx, cancel, err := tok.Bound(ctx, f.opts.CallTimeout)
	if err != nil {
		return fmt.Errorf("fence %s: %w", instance, err)
	}
	defer cancel()
	_, err = f.ec2.StopInstances(bctx, &ec2.StopInstancesInput{InstanceIds: []string{instance}, Force: aws.Bool(true)})
	if err != nil {
		if cause := context.Cause(bctx); errors.Is(cause, fence.ErrStale) {
			return fmt.Errorf("fence %s: stop instance: %w (%w)", instance, err, cause)
		}
		return fmt.Errorf("fence %s: stop instance: %w", instance, err)
	}
	return nil
}

// StopAt fences the instance whose network interface holds the private
// address addr in vpc (a cluster member, named by its address): as Stop
// once found. An address no instance holds is an error: the fence cannot
// know what to stop, and the caller must not take over as if it had.
func (f *Fencer) StopAt(ctx context.Context, tok fence.Token, self, vpc string, addr netip.Addr) error {
	cctx, cancel := context.WithTimeout(ctx, f.opts.CallTimeout)
	defer cancel()
	filters := []types.Filter{{Name: aws.String("network-interface.addresses.private-ip-address"), Values: []string{addr.String()}}}
	if vpc != "" {
		filters = append(filters, types.Filter{Name: aws.String("vpc-id"), Values: []string{vpc}})
	}
	out, err := f.ec2.DescribeInstances(cctx, &ec2.DescribeInstancesInput{Filters: filters})
	if err != nil {
		return fmt.Errorf("fence the member at %s: find its instance: %w", addr, err)
	}
	var ids []string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	if len(ids) != 1 {
		return fmt.Errorf("fence the member at %s: %d instances hold that address in %s (%v), want one", addr, len(ids), vpc, ids)
	}
	return f.Stop(ctx, tok, self, ids[0])
}

// state reads instance's state.
func (f *Fencer) state(ctx context.Context, instance string) (types.InstanceStateName, error) {
	cctx, cancel := context.WithTimeout(ctx, f.opts.CallTimeout)
	defer cancel()
	out, err := f.ec2.DescribeInstances(cctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instance}})
	if err != nil {
		return "", fmt.Errorf("describe instance: %w", err)
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if aws.ToString(in.InstanceId) == instance && in.State != nil {
				return in.State.Name, nil
			}
		}
	}
	return "", fmt.Errorf("describe instance: %s not found", instance)
}

// down reports the states in which an instance runs nothing.
func down(s types.InstanceStateName) bool {
	return s == types.InstanceStateNameStopped || s == types.InstanceStateNameTerminated
}
