// Package eni implements the eni resource (the ENI-move failover): a whole
// network interface moved to the owner, with the Linux policy routing that
// makes replies leave by it.
//
// Acquire finds the interface (by id or by its private address), refuses
// one in another availability zone (EC2 attaches an ENI only within its
// zone), detaches it from the previous owner (forced at once when that
// instance is not running, or after DetachTimeout when a normal detach does
// not finish), waits with backoff until it is available, attaches it at
// the configured device index and waits for attached. Then the host side:
// it waits until IMDS lists the interface's MAC and the kernel shows an
// interface with it, and applies osnet.Policy (own table, `ip rule from
// <subnet>`, default route via the subnet router). Release removes the
// policy and detaches the interface if it is still attached to self.
package eni

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/osnet"
	"github.com/vipd/vipd/internal/resource"
)

// EC2 is the part of the EC2 API this resource calls; *ec2.Client fits.
type EC2 interface {
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	AttachNetworkInterface(ctx context.Context, in *ec2.AttachNetworkInterfaceInput, optFns ...func(*ec2.Options)) (*ec2.AttachNetworkInterfaceOutput, error)
	DetachNetworkInterface(ctx context.Context, in *ec2.DetachNetworkInterfaceInput, optFns ...func(*ec2.Options)) (*ec2.DetachNetworkInterfaceOutput, error)
}

// IMDS reads instance metadata; *imds.Client fits.
type IMDS interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// Host sets policy routing up on the host; *osnet.PolicyRouting and
// osnet.NoPolicy fit.
type Host interface {
	WaitLink(ctx context.Context, mac net.HardwareAddr) (string, error)
	Apply(ctx context.Context, p osnet.Policy) error
	Remove(ctx context.Context, p osnet.Policy) error
	Drift(ctx context.Context, p osnet.Policy) ([]string, error)
}

// Options tune the resource and give it the host.
type Options struct {
	// CallTimeout bounds each AWS call (default 2s).
	CallTimeout time.Duration
	// IMDS is the instance's metadata service: the subnet of the moved
	// interface and the sign that the instance sees it come from there.
	// Required unless Host is osnet.NoPolicy.
	IMDS IMDS
	// Host applies the policy routing; nil means osnet.NoPolicy.
	Host Host
	// PollInterval is the first pause of the waits for attachment states
	// (default 100ms); pauses double up to 1s.
	PollInterval time.Duration
	// Fencer, when set, stops a previous owner that does not let go
	// before the interface is detached from it, by force (docs/stonith.md).
	Fencer resource.Fencer
}

// Resource is one eni resource. Its methods are called by the node loop's
// workers one at a time; it remembers the interface's id once found and
// the policy it applied, for Check and Release.
type Resource struct {
	cfg   config.ENI
	ec2   EC2
	opts  Options
	log   *slog.Logger
	index int32

	mu      sync.Mutex
	id      string        // the interface's id once known
	applied *osnet.Policy // the policy routing applied, nil when none
}

// New returns the resource for cfg, with the defaults of config.ENI
// filled in (device index 1, detach timeout 10s, attach timeout 30s,
// table 100, priority 100).
func New(cfg config.ENI, c EC2, opts Options, log *slog.Logger) *Resource {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 2 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.Host == nil {
		opts.Host = osnet.NoPolicy{}
	}
	if cfg.DeviceIndex == 0 {
		cfg.DeviceIndex = 1
	}
	if cfg.DetachTimeout == 0 {
		cfg.DetachTimeout = 10 * time.Second
	}
	if cfg.AttachTimeout == 0 {
		cfg.AttachTimeout = 30 * time.Second
	}
	if cfg.PolicyRouting.Table == 0 {
		cfg.PolicyRouting.Table = 100
	}
	if cfg.PolicyRouting.Priority == 0 {
		cfg.PolicyRouting.Priority = 100
	}
	return &Resource{cfg: cfg, ec2: c, opts: opts, log: log.With("component", "eni"), index: int32(cfg.DeviceIndex), id: cfg.ID}
}

// Name identifies the resource in status and logs.
func (r *Resource) Name() string {
	switch {
	case r.cfg.ID != "":
		return "eni " + r.cfg.ID
	case r.cfg.Tags != nil:
		return "eni tags " + config.TagsString(r.cfg.Tags)
	}
	return "eni " + r.cfg.PrivateIP
}

// Kind is the resource kind as written in the config.
func (r *Resource) Kind() string { return config.KindENI }

// describe reads the interface: one call, by id once known. An interface
// selected by tags is found again on every read (a tag moved to another
// interface is followed), and must be the only one with them.
func (r *Resource) describe(ctx context.Context) (types.NetworkInterface, error) {
	r.mu.Lock()
	id := r.id
	r.mu.Unlock()
	in := &ec2.DescribeNetworkInterfacesInput{}
	switch {
	case id != "":
		in.NetworkInterfaceIds = []string{id}
	case r.cfg.Tags != nil:
		in.Filters = resource.TagFilters(r.cfg.Tags)
	default:
		in.Filters = []types.Filter{{Name: aws.String("addresses.private-ip-address"), Values: []string{r.cfg.PrivateIP}}}
	}
	cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	out, err := r.ec2.DescribeNetworkInterfaces(cctx, in)
	if err != nil {
		return types.NetworkInterface{}, fmt.Errorf("describe %s: %w", r.Name(), err)
	}
	if r.cfg.Tags != nil {
		ids := make([]string, len(out.NetworkInterfaces))
		for i, ni := range out.NetworkInterfaces {
			ids[i] = aws.ToString(ni.NetworkInterfaceId)
		}
		if err := resource.OneTagged("network interface", r.cfg.Tags, ids); err != nil {
			return types.NetworkInterface{}, fmt.Errorf("describe %s: %w", r.Name(), err)
		}
	}
	if len(out.NetworkInterfaces) != 1 {
		return types.NetworkInterface{}, fmt.Errorf("describe %s: %d interfaces found, want 1", r.Name(), len(out.NetworkInterfaces))
	}
	ni := out.NetworkInterfaces[0]
	if id == "" && r.cfg.Tags == nil {
		r.mu.Lock()
		r.id = aws.ToString(ni.NetworkInterfaceId)
		r.mu.Unlock()
	}
	return ni, nil
}

// attachment is an interface's attachment as this resource cares about.
type attachment struct {
	id, instance, status string
	index                int32
}

func attachmentOf(ni types.NetworkInterface) (attachment, bool) {
	a := ni.Attachment
	if a == nil || a.Status == types.AttachmentStatusDetached {
		return attachment{}, false
	}
	return attachment{id: aws.ToString(a.AttachmentId), instance: aws.ToString(a.InstanceId), status: string(a.Status), index: aws.ToInt32(a.DeviceIndex)}, true
}

func (r *Resource) mine(a attachment, self resource.Self) bool {
	return a.instance == self.InstanceID && a.index == r.index
}

// Check reports whether the interface is attached to self at the device
// index and, when a policy was applied, whether the host still has it.
func (r *Resource) Check(ctx context.Context, self resource.Self) (resource.Status, error) {
	ni, err := r.describe(ctx)
	if err != nil {
		return resource.Status{}, err
	}
	var st resource.Status
	id := aws.ToString(ni.NetworkInterfaceId)
	switch a, ok := attachmentOf(ni); {
	case !ok:
		st.Drift = append(st.Drift, fmt.Sprintf("%s: not attached", id))
	case !r.mine(a, self):
		st.Drift = append(st.Drift, fmt.Sprintf("%s: attached to %s device %d (%s), want %s device %d", id, a.instance, a.index, a.status, self.InstanceID, r.index))
	case a.status != string(types.AttachmentStatusAttached):
		st.Drift = append(st.Drift, fmt.Sprintf("%s: %s", id, a.status))
	}
	r.mu.Lock()
	pol := r.applied
	r.mu.Unlock()
	if pol != nil {
		d, err := r.opts.Host.Drift(ctx, *pol)
		if err != nil {
			return resource.Status{}, fmt.Errorf("check policy routing %s: %w", pol, err)
		}
		st.Drift = append(st.Drift, d...)
	}
	st.InSync = len(st.Drift) == 0
	return st, nil
}

// Acquire moves the interface to self and sets the host up. Idempotent: an
// interface already attached to self is not touched in AWS, and the policy
// is re-applied (which changes nothing when it is in place).
func (r *Resource) Acquire(ctx context.Context, self resource.Self, tok fence.Token) error {
	ni, err := r.describe(ctx)
	if err != nil {
		return err
	}
	id := aws.ToString(ni.NetworkInterfaceId)
	if az := aws.ToString(ni.AvailabilityZone); az != self.AZ {
		return fmt.Errorf("acquire %s: it is in availability zone %s and this instance in %s; EC2 attaches an interface only within its zone (use secondary-ip or overlay-route across zones)", id, az, self.AZ)
	}
	a, attached := attachmentOf(ni)
	if attached && !r.mine(a, self) {
		if err := r.detach(ctx, tok, self, id, a); err != nil {
			return err
		}
		attached = false
	}
	if attached && a.status == string(types.AttachmentStatusDetaching) {
		// Our own attachment on its way out (a release that raced this
		// acquire): let it finish, then attach again.
		if _, err := r.waitFor(ctx, r.cfg.DetachTimeout, "available", func(ni types.NetworkInterface) bool { _, ok := attachmentOf(ni); return !ok }); err != nil {
			return err
		}
		attached = false
	}
	if !attached {
		what := fmt.Sprintf("attach %s to %s at device %d", id, self.InstanceID, r.index)
		err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
			_, err := r.ec2.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{
				NetworkInterfaceId: aws.String(id),
				InstanceId:         aws.String(self.InstanceID),
				DeviceIndex:        aws.Int32(r.index),
			})
			return err
		})
		if err != nil {
			return err
		}
		r.log.Info("interface attached", "eni_id", id, "instance_id", self.InstanceID, "token", tok.N())
	}
	ni, err = r.waitFor(ctx, r.cfg.AttachTimeout, "attached", func(ni types.NetworkInterface) bool {
		a, ok := attachmentOf(ni)
		return ok && r.mine(a, self) && a.status == string(types.AttachmentStatusAttached)
	})
	if err != nil {
		return err
	}
	return r.host(ctx, ni)
}

// detach takes the interface from its current attachment: forced at once
// when that instance is not running (it cannot let go), else normal, then
// forced if it has not finished within DetachTimeout. It returns once the
// interface is available.
func (r *Resource) detach(ctx context.Context, tok fence.Token, self resource.Self, id string, a attachment) error {
	if r.opts.Fencer != nil {
		return r.detachFenced(ctx, tok, self, id, a)
	}
	force := !resource.OwnerRunning(ctx, r.ec2, r.opts.CallTimeout, a.instance, r.log)
	wait := r.cfg.DetachTimeout
	if force {
		wait = r.cfg.AttachTimeout
	}
	send := func(force bool) error {
		what := fmt.Sprintf("detach %s from %s", id, a.instance)
		if force {
			what = "force " + what
		}
		err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
			_, err := r.ec2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: aws.String(a.id), Force: aws.Bool(force)})
			return err
		})
		// Gone or already detaching on its own: wait below either way.
		if awsapi.IsCode(err, "InvalidAttachmentID.NotFound") || awsapi.IsCode(err, "IncorrectState") {
			return nil
		}
		if err == nil {
			r.log.Info("interface detaching", "eni_id", id, "from", a.instance, "op", what, "token", tok.N())
		}
		return err
	}
	if a.status != string(types.AttachmentStatusDetaching) || force {
		if err := send(force); err != nil {
			return err
		}
	}
	available := func(ni types.NetworkInterface) bool { _, ok := attachmentOf(ni); return !ok }
	_, err := r.waitFor(ctx, wait, "available", available)
	if err == nil || force || ctx.Err() != nil {
		return err
	}
	r.log.Warn("detach did not finish, forcing", "eni_id", id, "from", a.instance, "duration", r.cfg.DetachTimeout)
	if err := send(true); err != nil {
		return err
	}
	// A forced detach still takes a while on AWS; give it the attach
	// budget, the longest wait the operator has allowed for this move.
	_, err = r.waitFor(ctx, r.cfg.AttachTimeout, "available", available)
	return err
}

// detachFenced takes the interface from a previous owner with STONITH.
// The owner gets DetachTimeout to let go by itself (losing the lease, its
// own release detaches) and is never asked: a running instance that still
// holds the interface then did not hear the cluster or cannot act, so it is
// stopped (Fencer.Stop: StopInstances with Force, then stopped) and only
// then is the interface detached, by force. A fence that fails leaves the
// interface where it is: the acquire fails and is tried again, rather than
// take the address from an instance that may still answer for it.
func (r *Resource) detachFenced(ctx context.Context, tok fence.Token, self resource.Self, id string, a attachment) error {
	available := func(ni types.NetworkInterface) bool { _, ok := attachmentOf(ni); return !ok }
	if resource.OwnerRunning(ctx, r.ec2, r.opts.CallTimeout, a.instance, r.log) {
		_, err := r.waitFor(ctx, r.cfg.DetachTimeout, "let go by "+a.instance, available)
		if err == nil || ctx.Err() != nil {
			return err
		}
		r.log.Warn("previous owner did not let go of the interface, fencing it", "instance_id", a.instance, "eni_id", id, "duration", r.cfg.DetachTimeout)
	}
	if err := r.opts.Fencer.Stop(ctx, tok, self.InstanceID, a.instance); err != nil {
		return fmt.Errorf("take %s from %s: %w", id, a.instance, err)
	}
	what := fmt.Sprintf("force detach %s from %s", id, a.instance)
	err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
		_, err := r.ec2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: aws.String(a.id), Force: aws.Bool(true)})
		return err
	})
	if err != nil && !awsapi.IsCode(err, "InvalidAttachmentID.NotFound") && !awsapi.IsCode(err, "IncorrectState") {
		return err
	}
	r.log.Info("interface detaching", "eni_id", id, "from", a.instance, "op", what, "token", tok.N())
	_, err = r.waitFor(ctx, r.cfg.AttachTimeout, "available", available)
	return err
}

// waitFor polls the interface with backoff until done says so, at most
// timeout (and within ctx).
func (r *Resource) waitFor(ctx context.Context, timeout time.Duration, what string, done func(types.NetworkInterface) bool) (types.NetworkInterface, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pace := resource.NewBackoff(r.opts.PollInterval, time.Second)
	for {
		ni, err := r.describe(ctx)
		if err == nil && done(ni) {
			return ni, nil
		}
		if err != nil && ctx.Err() == nil && !awsapi.IsCode(err, awsapi.CodeRequestLimitExceeded) {
			return ni, fmt.Errorf("wait for %s: %w", what, err)
		}
		if !pace.Wait(ctx) {
			state := "unknown"
			if a, ok := attachmentOf(ni); ok {
				state = a.status + " on " + a.instance
			} else if err == nil {
				state = "available"
			}
			return ni, fmt.Errorf("wait for %s to be %s (%s): still %s: %w", r.Name(), what, timeout, state, ctx.Err())
		}
	}
}

// host waits for the instance and the kernel to see the interface and
// applies the policy routing.
func (r *Resource) host(ctx context.Context, ni types.NetworkInterface) error {
	if _, none := r.opts.Host.(osnet.NoPolicy); none && r.opts.IMDS == nil {
		return nil
	}
	mac, err := net.ParseMAC(aws.ToString(ni.MacAddress))
	if err != nil {
		return fmt.Errorf("parse MAC of %s: %w", aws.ToString(ni.NetworkInterfaceId), err)
	}
	if r.opts.IMDS == nil {
		return fmt.Errorf("set up %s on the host: no instance metadata client", aws.ToString(ni.NetworkInterfaceId))
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.AttachTimeout)
	defer cancel()
	subnet, err := r.waitIMDS(ctx, mac)
	if err != nil {
		return err
	}
	pol := osnet.Policy{MAC: mac, Subnet: subnet, Table: r.cfg.PolicyRouting.Table, Priority: r.cfg.PolicyRouting.Priority}
	name, err := r.opts.Host.WaitLink(ctx, mac)
	if err != nil {
		return err
	}
	if err := r.opts.Host.Apply(ctx, pol); err != nil {
		return fmt.Errorf("apply policy routing %s: %w", pol, err)
	}
	r.mu.Lock()
	r.applied = &pol
	r.mu.Unlock()
	r.log.Debug("policy routing applied", "eni_id", aws.ToString(ni.NetworkInterfaceId), "op", pol.String(), "reason", name)
	return nil
}

// waitIMDS waits until the instance's metadata lists mac among its
// interfaces and returns that interface's subnet.
func (r *Resource) waitIMDS(ctx context.Context, mac net.HardwareAddr) (netip.Prefix, error) {
	get := func(path string) (string, error) {
		out, err := r.opts.IMDS.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
		if err != nil {
			return "", err
		}
		defer out.Content.Close()
		b, err := io.ReadAll(io.LimitReader(out.Content, 64<<10))
		return string(b), err
	}
	pace := resource.NewBackoff(r.opts.PollInterval, time.Second)
	for {
		macs, err := get("network/interfaces/macs/")
		if err == nil && strings.Contains(macs, mac.String()+"/") {
			cidr, err := get("network/interfaces/macs/" + mac.String() + "/subnet-ipv4-cidr-block")
			if err != nil {
				return netip.Prefix{}, fmt.Errorf("read subnet of %s from instance metadata: %w", mac, err)
			}
			p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
			if err != nil {
				return netip.Prefix{}, fmt.Errorf("parse subnet of %s from instance metadata: %w", mac, err)
			}
			return p, nil
		}
		if !pace.Wait(ctx) {
			return netip.Prefix{}, fmt.Errorf("wait for %s in instance metadata: %w", mac, errors.Join(err, ctx.Err()))
		}
	}
}

// Release removes the policy routing, then detaches the interface if it is
// still attached to self, without waiting: the next owner waits for it to
// be available.
func (r *Resource) Release(ctx context.Context, self resource.Self, tok fence.Token) error {
	var errs []error
	r.mu.Lock()
	pol := r.applied
	r.mu.Unlock()
	if pol != nil {
		if err := r.opts.Host.Remove(ctx, *pol); err != nil {
			errs = append(errs, fmt.Errorf("remove policy routing %s: %w", pol, err))
		} else {
			r.mu.Lock()
			r.applied = nil
			r.mu.Unlock()
		}
	}
	ni, err := r.describe(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	a, ok := attachmentOf(ni)
	if !ok || !r.mine(a, self) || a.status == string(types.AttachmentStatusDetaching) {
		return errors.Join(errs...)
	}
	id := aws.ToString(ni.NetworkInterfaceId)
	err = resource.Write(ctx, tok, fmt.Sprintf("detach %s from %s", id, self.InstanceID), func(ctx context.Context) error {
		_, err := r.ec2.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: aws.String(a.id)})
		return err
	})
	return errors.Join(append(errs, err)...)
}

// StepTimeout is the longest an Acquire may take with the configured
// timeouts: a detach, a forced detach, the attachment and the host side.
// The node may use it, where it is longer, instead of its default step
// timeout, which a forced ENI move can exceed.
func (r *Resource) StepTimeout() time.Duration {
	d := r.cfg.DetachTimeout + 3*r.cfg.AttachTimeout + 5*r.opts.CallTimeout
	if r.opts.Fencer != nil {
		d += r.opts.Fencer.Timeout()
	}
	return d
}
