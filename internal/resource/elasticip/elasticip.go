// Package elasticip implements the elastic-ip resource: an
// Elastic IP associated, with AllowReassociation, with the owner's instance
// or with one private address of the owner's ENI, so that traffic from the
// internet follows the owner.
//
// Check is one DescribeAddresses of the allocation. Release disassociates
// the address when it is still associated with the owner, unless
// KeepOnRelease.
package elasticip

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource"
)

// EC2 is the part of the EC2 API this resource calls; *ec2.Client fits.
type EC2 interface {
	DescribeAddresses(ctx context.Context, in *ec2.DescribeAddressesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error)
	AssociateAddress(ctx context.Context, in *ec2.AssociateAddressInput, optFns ...func(*ec2.Options)) (*ec2.AssociateAddressOutput, error)
	DisassociateAddress(ctx context.Context, in *ec2.DisassociateAddressInput, optFns ...func(*ec2.Options)) (*ec2.DisassociateAddressOutput, error)
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
}

// Options tune the resource.
type Options struct {
	// CallTimeout bounds each AWS call (default 2s).
	CallTimeout time.Duration
}

// Resource is one elastic-ip resource. Its methods are called by the node
// loop's workers one at a time and keep no state between calls.
type Resource struct {
	cfg     config.ElasticIP
	private netip.Addr
	ec2     EC2
	opts    Options
	log     *slog.Logger
}

// New returns the resource for cfg.
func New(cfg config.ElasticIP, c EC2, opts Options, log *slog.Logger) *Resource {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 2 * time.Second
	}
	return &Resource{cfg: cfg, private: cfg.PrivateAddr(), ec2: c, opts: opts, log: log.With("component", "elastic-ip")}
}

// Name identifies the resource in status and logs.
func (r *Resource) Name() string {
	if r.cfg.Tags != nil {
		return "elastic-ip tags " + config.TagsString(r.cfg.Tags)
	}
	return "elastic-ip " + r.cfg.AllocationID
}

// Kind is the resource kind as written in the config.
func (r *Resource) Kind() string { return config.KindElasticIP }

// describe reads the allocation: one call, by id or by the configured
// tags (found again on every read, and required to select one address).
func (r *Resource) describe(ctx context.Context) (types.Address, error) {
	cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	in, label := &ec2.DescribeAddressesInput{AllocationIds: []string{r.cfg.AllocationID}}, r.cfg.AllocationID
	if r.cfg.Tags != nil {
		in, label = &ec2.DescribeAddressesInput{Filters: resource.TagFilters(r.cfg.Tags)}, "tags "+config.TagsString(r.cfg.Tags)
	}
	out, err := r.ec2.DescribeAddresses(cctx, in)
	if err != nil {
		return types.Address{}, fmt.Errorf("describe address %s: %w", label, err)
	}
	if r.cfg.Tags != nil {
		ids := make([]string, len(out.Addresses))
		for i, a := range out.Addresses {
			ids[i] = aws.ToString(a.AllocationId)
		}
		if err := resource.OneTagged("Elastic IP", r.cfg.Tags, ids); err != nil {
			return types.Address{}, fmt.Errorf("describe address %s: %w", label, err)
		}
	}
	if len(out.Addresses) != 1 {
		return types.Address{}, fmt.Errorf("describe address %s: %d answers, want 1", label, len(out.Addresses))
	}
	return out.Addresses[0], nil
}

// wantPrivate is the private address the EIP must be associated with.
func (r *Resource) wantPrivate(self resource.Self) netip.Addr {
	if r.private.IsValid() {
		return r.private
	}
	return self.PrivateIP
}

// ours reports whether a is associated with self as configured: a private
// address is unique in the VPC, so instance and private address together
// name the interface too.
func (r *Resource) ours(a types.Address, self resource.Self) bool {
	p, _ := netip.ParseAddr(aws.ToString(a.PrivateIpAddress))
	return aws.ToString(a.InstanceId) == self.InstanceID && p == r.wantPrivate(self)
}

func (r *Resource) status(a types.Address, self resource.Self) resource.Status {
	if r.ours(a, self) {
		return resource.Status{InSync: true}
	}
	if a.AssociationId == nil {
		return resource.Status{Drift: []string{fmt.Sprintf("%s: not associated", aws.ToString(a.PublicIp))}}
	}
	return resource.Status{Drift: []string{fmt.Sprintf("%s: on %s %s (%s), want %s %s",
		aws.ToString(a.PublicIp), orNone(aws.ToString(a.InstanceId)), aws.ToString(a.NetworkInterfaceId),
		aws.ToString(a.PrivateIpAddress), self.InstanceID, r.wantPrivate(self))}}
}

func orNone(s string) string {
	if s == "" {
		return "no instance"
	}
	return s
}

// Check reports whether the address is associated with self.
func (r *Resource) Check(ctx context.Context, self resource.Self) (resource.Status, error) {
	a, err := r.describe(ctx)
	if err != nil {
		return resource.Status{}, err
	}
	return r.status(a, self), nil
}

// Acquire associates the address with self (AllowReassociation takes it
// from whoever holds it) and reads back. Idempotent: an address already
// ours is not written.
func (r *Resource) Acquire(ctx context.Context, self resource.Self, tok fence.Token) error {
	a, err := r.describe(ctx)
	if err != nil {
		return err
	}
	if r.ours(a, self) {
		return nil
	}
	// Always name the interface and private address: AssociateAddress
	// with only an InstanceId is refused (InvalidInstanceID) once the
	// instance has a second interface, which an eni resource may attach.
	eni, err := resource.DeviceENI(ctx, r.ec2, r.opts.CallTimeout, self, r.cfg.DeviceIndex)
	if err != nil {
		return err
	}
	private := r.wantPrivate(self)
	alloc := aws.ToString(a.AllocationId)
	in := &ec2.AssociateAddressInput{
		AllocationId:       aws.String(alloc),
		NetworkInterfaceId: aws.String(eni),
		PrivateIpAddress:   aws.String(private.String()),
		AllowReassociation: aws.Bool(true),
	}
	target := eni + " " + private.String()
	what := fmt.Sprintf("associate %s with %s", alloc, target)
	err = resource.Write(ctx, tok, what, func(ctx context.Context) error {
		_, err := r.ec2.AssociateAddress(ctx, in)
		return err
	})
	if err != nil {
		return err
	}
	r.log.Debug("address associated", "op", what, "instance_id", self.InstanceID, "token", tok.N())
	return r.verify(ctx, self)
}

// verify reads back until the address is ours, within ctx.
func (r *Resource) verify(ctx context.Context, self resource.Self) error {
	return resource.Verify(ctx, func(ctx context.Context) (resource.Status, error) { return r.Check(ctx, self) })
}

// Release disassociates the address when it is still associated with
// self, unless KeepOnRelease. An address another node has taken is left
// alone.
func (r *Resource) Release(ctx context.Context, self resource.Self, tok fence.Token) error {
	if r.cfg.KeepOnRelease {
		return nil
	}
	a, err := r.describe(ctx)
	if err != nil {
		return err
	}
	if !r.ours(a, self) || a.AssociationId == nil {
		return nil
	}
	what := fmt.Sprintf("disassociate %s (%s)", aws.ToString(a.AllocationId), aws.ToString(a.AssociationId))
	return resource.Write(ctx, tok, what, func(ctx context.Context) error {
		// The association id names this association only: if another node
		// reassociated meanwhile, the call fails instead of undoing theirs.
		_, err := r.ec2.DisassociateAddress(ctx, &ec2.DisassociateAddressInput{AssociationId: a.AssociationId})
		return err
	})
}
