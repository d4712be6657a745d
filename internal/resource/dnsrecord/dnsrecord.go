// Package dnsrecord implements the route53 resource (DNS failover): an A or
// AAAA record UPSERTed to the owner's address with the configured TTL,
// optionally waiting until Route 53 reports the change INSYNC.
//
// DNS converges more slowly than routes (INSYNC takes about 60 s on AWS),
// so the node acquires this kind last and the wait, when configured, has
// its own deadline. Check is one ListResourceRecordSets starting at the
// record. Release leaves the record: the next owner UPSERTs it, and a
// deleted record would answer NXDOMAIN, which resolvers cache, until then.
package dnsrecord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource"
)

// Route53 is the part of the Route 53 API this resource calls;
// *route53.Client fits.
type Route53 interface {
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *route53.GetChangeInput, optFns ...func(*route53.Options)) (*route53.GetChangeOutput, error)
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
}

// EC2 finds the owner's public address (address: public); *ec2.Client
// fits. Unused, and may be nil, for other address sources.
type EC2 interface {
	DescribeAddresses(ctx context.Context, in *ec2.DescribeAddressesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeAddressesOutput, error)
}

// Options tune the resource.
type Options struct {
	// CallTimeout bounds each AWS call (default 2s).
	CallTimeout time.Duration
	// PollInterval is the first pause between GetChange calls while
	// waiting for INSYNC (default 1s); pauses double up to 5s. Route 53
	// allows five requests per second per account, shared with every
	// other tool.
	PollInterval time.Duration
}

// Change is the last change this resource submitted.
type Change struct {
	ID     string
	Value  netip.Addr
	Status string // PENDING or INSYNC as last read
	// Submitted is when Route 53 accepted the change; Insync how long it
	// took to become INSYNC (0 until seen).
	Submitted time.Time
	Insync    time.Duration
}

// Resource is one route53 resource. Its methods are called by the node
// loop's workers one at a time; the last change is kept for status.
type Resource struct {
	cfg  config.Route53
	name string // canonical: lower case with the final dot
	typ  types.RRType
	ttl  int64
	r53  Route53
	ec2  EC2
	opts Options
	log  *slog.Logger
	mu   sync.Mutex
	last Change
}

// New returns the resource for cfg. TTL defaults to 60s, Type to A, the
// INSYNC wait to 120s.
func New(cfg config.Route53, r53 Route53, ec2c EC2, opts Options, log *slog.Logger) *Resource {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 2 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if cfg.TTL == 0 {
		cfg.TTL = 60 * time.Second
	}
	if cfg.Type == "" {
		cfg.Type = "A"
	}
	if cfg.InsyncTimeout == 0 {
		cfg.InsyncTimeout = 120 * time.Second
	}
	if cfg.Address == "" {
		cfg.Address = config.AddressPrivate
	}
	return &Resource{
		cfg:  cfg,
		name: strings.ToLower(strings.TrimSuffix(cfg.Name, ".")) + ".",
		typ:  types.RRType(cfg.Type),
		ttl:  int64(cfg.TTL / time.Second),
		r53:  r53,
		ec2:  ec2c,
		opts: opts,
		log:  log.With("component", "route53"),
	}
}

// Name identifies the resource in status and logs.
func (r *Resource) Name() string { return fmt.Sprintf("route53 %s %s", r.name, r.typ) }

// Kind is the resource kind as written in the config.
func (r *Resource) Kind() string { return config.KindRoute53 }

// LastChange returns the last change submitted; safe to call from any
// goroutine.
func (r *Resource) LastChange() Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// want returns the address the record must hold for self.
func (r *Resource) want(ctx context.Context, self resource.Self) (netip.Addr, error) {
	switch r.cfg.Address {
	case config.AddressPrivate:
		return self.PrivateIP, nil
	case config.AddressPrivateIPv6:
		if !self.IPv6.IsValid() {
			return netip.Addr{}, fmt.Errorf("find the IPv6 address of %s: its primary interface (%s) has none; assign one (aws ec2 assign-ipv6-addresses) or use address: private", self.InstanceID, self.ENIID)
		}
		return self.IPv6, nil
	case config.AddressPublic:
		if r.ec2 == nil {
			return netip.Addr{}, errors.New("find public address: no EC2 client")
		}
		cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
		defer cancel()
		out, err := r.ec2.DescribeAddresses(cctx, &ec2.DescribeAddressesInput{
			Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{self.InstanceID}}},
		})
		if err != nil {
			return netip.Addr{}, fmt.Errorf("find public address of %s: %w", self.InstanceID, err)
		}
		for _, a := range out.Addresses {
			// The Elastic IP on the primary address is the instance's
			// public address (EC2's PublicIpAddress).
			if p, _ := netip.ParseAddr(aws.ToString(a.PrivateIpAddress)); p == self.PrivateIP {
				return netip.ParseAddr(aws.ToString(a.PublicIp))
			}
		}
		if len(out.Addresses) > 0 {
			return netip.ParseAddr(aws.ToString(out.Addresses[0].PublicIp))
		}
		return netip.Addr{}, fmt.Errorf("find public address of %s: no Elastic IP associated", self.InstanceID)
	}
	return netip.ParseAddr(r.cfg.Address)
}

// record reads the record set: one ListResourceRecordSets call. ok is
// false when it does not exist.
func (r *Resource) record(ctx context.Context) (rr types.ResourceRecordSet, ok bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	out, err := r.r53.ListResourceRecordSets(cctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(r.cfg.HostedZoneID),
		StartRecordName: aws.String(r.name),
		StartRecordType: r.typ,
		MaxItems:        aws.Int32(1),
	})
	if err != nil {
		return rr, false, fmt.Errorf("list record %s %s in %s: %w", r.name, r.typ, r.cfg.HostedZoneID, err)
	}
	for _, s := range out.ResourceRecordSets {
		if strings.EqualFold(aws.ToString(s.Name), r.name) && s.Type == r.typ && s.SetIdentifier == nil {
			return s, true, nil
		}
	}
	return rr, false, nil
}

func (r *Resource) status(rr types.ResourceRecordSet, ok bool, want netip.Addr) resource.Status {
	st := resource.Status{Detail: r.detail()}
	if !ok {
		st.Drift = []string{fmt.Sprintf("%s %s: missing, want %s", r.name, r.typ, want)}
		return st
	}
	var vals []string
	for _, v := range rr.ResourceRecords {
		vals = append(vals, aws.ToString(v.Value))
	}
	if !slices.Equal(vals, []string{want.String()}) {
		st.Drift = append(st.Drift, fmt.Sprintf("%s %s: %s, want %s", r.name, r.typ, strings.Join(vals, ","), want))
	}
	if ttl := aws.ToInt64(rr.TTL); ttl != r.ttl {
		st.Drift = append(st.Drift, fmt.Sprintf("%s %s: ttl %ds, want %ds", r.name, r.typ, ttl, r.ttl))
	}
	st.InSync = len(st.Drift) == 0
	return st
}

func (r *Resource) detail() string {
	c := r.LastChange()
	if c.ID == "" {
		return ""
	}
	s := fmt.Sprintf("change %s to %s %s", c.ID, c.Value, c.Status)
	if c.Insync > 0 {
		s += fmt.Sprintf(" after %s", c.Insync.Round(time.Millisecond))
	}
	return s
}

// Check reports whether the record holds self's address with the TTL.
func (r *Resource) Check(ctx context.Context, self resource.Self) (resource.Status, error) {
	want, err := r.want(ctx, self)
	if err != nil {
		return resource.Status{}, err
	}
	rr, ok, err := r.record(ctx)
	if err != nil {
		return resource.Status{}, err
	}
	return r.status(rr, ok, want), nil
}

// Acquire UPSERTs the record when it differs, reads it back, and, with
// wait-insync, waits for INSYNC within insync-timeout. Idempotent: a record
// already right is not written (and not waited for again).
func (r *Resource) Acquire(ctx context.Context, self resource.Self, tok fence.Token) error {
	want, err := r.want(ctx, self)
	if err != nil {
		return err
	}
	rr, ok, err := r.record(ctx)
	if err != nil {
		return err
	}
	if r.status(rr, ok, want).InSync {
		return nil
	}
	id, err := r.upsert(ctx, self, tok, want)
	if err != nil {
		return err
	}
	if rr, ok, err = r.record(ctx); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if st := r.status(rr, ok, want); !st.InSync {
		return fmt.Errorf("verify: %s", strings.Join(st.Drift, "; "))
	}
	if !r.cfg.WaitInsync {
		return nil
	}
	return r.waitInsync(ctx, id)
}

// upsert submits the change. PriorRequestNotComplete (a previous change to
// the zone is still being applied) and Throttling are retried here, with
// backoff, within ctx (the step's budget) — not by the SDK's retryer,
// whose backoff (up to seconds per attempt) would run a single call past
// its CallTimeout, which then fails the step instead of waiting longer.
func (r *Resource) upsert(ctx context.Context, self resource.Self, tok fence.Token, want netip.Addr) (string, error) {
	in := &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(r.cfg.HostedZoneID),
		ChangeBatch: &types.ChangeBatch{
			Comment: aws.String(fmt.Sprintf("vipd: %s %s owns the address (token %d)", self.Name, self.InstanceID, tok.N())),
			Changes: []types.Change{{
				Action: types.ChangeActionUpsert,
				ResourceRecordSet: &types.ResourceRecordSet{
					Name:            aws.String(r.name),
					Type:            r.typ,
					TTL:             aws.Int64(r.ttl),
					ResourceRecords: []types.ResourceRecord{{Value: aws.String(want.String())}},
				},
			}},
		},
	}
	what := fmt.Sprintf("upsert %s %s %s in %s", r.name, r.typ, want, r.cfg.HostedZoneID)
	pace := resource.NewBackoff(200*time.Millisecond, 2*time.Second)
	for {
		var out *route53.ChangeResourceRecordSetsOutput
		err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
			var err error
			out, err = r.r53.ChangeResourceRecordSets(ctx, in, func(o *route53.Options) { o.RetryMaxAttempts = 1 })
			return err
		})
		var prior *types.PriorRequestNotComplete
		if errors.As(err, &prior) || awsapi.IsCode(err, "Throttling") {
			if !pace.Wait(ctx) {
				return "", fmt.Errorf("%s: %w", what, errors.Join(err, ctx.Err()))
			}
			continue
		}
		if err != nil {
			return "", err
		}
		ci := out.ChangeInfo
		c := Change{ID: strings.TrimPrefix(aws.ToString(ci.Id), "/change/"), Value: want, Status: string(ci.Status), Submitted: time.Now()}
		r.mu.Lock()
		r.last = c
		r.mu.Unlock()
		r.log.Info("record changed", "op", what, "reason", c.ID, "token", tok.N())
		return c.ID, nil
	}
}

// waitInsync polls GetChange until INSYNC, at most InsyncTimeout.
func (r *Resource) waitInsync(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.InsyncTimeout)
	defer cancel()
	start := r.LastChange().Submitted
	pace := resource.NewBackoff(r.opts.PollInterval, 5*time.Second)
	for {
		cctx, ccancel := context.WithTimeout(ctx, r.opts.CallTimeout)
		out, err := r.r53.GetChange(cctx, &route53.GetChangeInput{Id: aws.String(id)})
		ccancel()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("wait for change %s: %w", id, err)
		}
		if err == nil {
			status := string(out.ChangeInfo.Status)
			r.mu.Lock()
			if r.last.ID == id {
				r.last.Status = status
				if out.ChangeInfo.Status == types.ChangeStatusInsync {
					r.last.Insync = time.Since(start)
				}
			}
			r.mu.Unlock()
			if out.ChangeInfo.Status == types.ChangeStatusInsync {
				r.log.Info("record in sync", "reason", id, "duration", time.Since(start).Round(time.Millisecond))
				return nil
			}
		}
		if !pace.Wait(ctx) {
			return fmt.Errorf("wait for change %s to be INSYNC (%s): %w", id, r.cfg.InsyncTimeout, ctx.Err())
		}
	}
}

// Release leaves the record for the next owner to UPSERT.
func (r *Resource) Release(context.Context, resource.Self, fence.Token) error { return nil }

// StepTimeout is the longest an Acquire may take: the change and its
// read-back, plus the INSYNC wait when configured. The node may use it,
// where it is longer, instead of its default step timeout.
func (r *Resource) StepTimeout() time.Duration {
	d := 4 * r.opts.CallTimeout
	if r.cfg.WaitInsync {
		d += r.cfg.InsyncTimeout
	}
	return d
}
