// Package secondaryip implements the secondary-ip resource (the keepalived
// recipe that moves a secondary private IP): private IPv4 addresses
// assigned, all in one AssignPrivateIpAddresses call with
// AllowReassignment, and IPv6 addresses of the subnet (AssignIpv6Addresses),
// to the owner's ENI
// (its primary interface, or the one at a configured device index), so that
// the VPC delivers them to the owner wherever they were before.
//
// Check is one DescribeNetworkInterfaces filtered on the addresses
// (addresses.private-ip-address; ipv6-addresses.ipv6-address for IPv6
// ones, a second call when both families are configured), which finds
// every interface holding any of them.
//
// IPv6 addresses move differently: AssignIpv6Addresses has no
// AllowReassignment, and EC2 refuses an address another interface
// holds, so acquire first unassigns them from the interface holding them
// (UnassignIpv6Addresses), then assigns them to the owner's. Between the
// two calls the address is nobody's; the step is fenced like any other. Release unassigns the addresses that are still on the owner's
// interface, unless KeepOnRelease. The host side (binding the addresses on
// an interface) is osnet's: the node binds local-address, and this
// resource binds any further addresses through Options.Bind.
package secondaryip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
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
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
	AssignPrivateIpAddresses(ctx context.Context, in *ec2.AssignPrivateIpAddressesInput, optFns ...func(*ec2.Options)) (*ec2.AssignPrivateIpAddressesOutput, error)
	UnassignPrivateIpAddresses(ctx context.Context, in *ec2.UnassignPrivateIpAddressesInput, optFns ...func(*ec2.Options)) (*ec2.UnassignPrivateIpAddressesOutput, error)
	AssignIpv6Addresses(ctx context.Context, in *ec2.AssignIpv6AddressesInput, optFns ...func(*ec2.Options)) (*ec2.AssignIpv6AddressesOutput, error)
	UnassignIpv6Addresses(ctx context.Context, in *ec2.UnassignIpv6AddressesInput, optFns ...func(*ec2.Options)) (*ec2.UnassignIpv6AddressesOutput, error)
}

// Binder binds one address on the host; osnet.Binder fits.
type Binder interface {
	Bind(ctx context.Context) error
	Unbind(ctx context.Context) error
	Bound(ctx context.Context) (bool, error)
}

// Options tune the resource.
type Options struct {
	// CallTimeout bounds each AWS call (default 2s).
	CallTimeout time.Duration
	// Bind, if set, returns the host binding of one address for the
	// instance whose primary private address is primary (osnet.NewBinder
	// with local-address's interface). Addresses in Skip are not bound here
	// because the node binds them as local-address.
	Bind func(primary netip.Addr, p netip.Prefix) Binder
	Skip []netip.Addr
}

// Resource is one secondary-ip resource. Its methods are called by the node
// loop's workers one at a time and keep no state between calls.
type Resource struct {
	name  string
	cfg   config.SecondaryIP
	addrs []netip.Addr
	ec2   EC2
	opts  Options
	log   *slog.Logger
}

// New returns the resource for cfg.
func New(cfg config.SecondaryIP, c EC2, opts Options, log *slog.Logger) *Resource {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 2 * time.Second
	}
	addrs := cfg.Addrs()
	names := make([]string, len(addrs))
	for i, a := range addrs {
		names[i] = a.String()
	}
	return &Resource{
		name:  "secondary-ip " + strings.Join(names, ","),
		cfg:   cfg,
		addrs: addrs,
		ec2:   c,
		opts:  opts,
		log:   log.With("component", "secondary-ip"),
	}
}

// Name identifies the resource in status and logs.
func (r *Resource) Name() string { return r.name }

// Kind is the resource kind as written in the config.
func (r *Resource) Kind() string { return config.KindSecondaryIP }

// holder is where one address is assigned now.
type holder struct {
	eni      string // "" when unassigned
	instance string
	index    int32
}

// describe finds the interface holding each address: one call per
// address family configured.
func (r *Resource) describe(ctx context.Context) (map[netip.Addr]holder, error) {
	held := map[netip.Addr]holder{}
	for _, fam := range []struct {
		filter string
		v6     bool
	}{{"addresses.private-ip-address", false}, {"ipv6-addresses.ipv6-address", true}} {
		var vals []string
		for _, a := range r.addrs {
			if a.Is6() == fam.v6 {
				vals = append(vals, a.String())
			}
		}
		if len(vals) == 0 {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
		out, err := r.ec2.DescribeNetworkInterfaces(cctx, &ec2.DescribeNetworkInterfacesInput{
			Filters: []types.Filter{{Name: aws.String(fam.filter), Values: vals}},
		})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("describe network interfaces holding %s: %w", strings.Join(vals, ","), err)
		}
		for _, ni := range out.NetworkInterfaces {
			h := holder{eni: aws.ToString(ni.NetworkInterfaceId)}
			if at := ni.Attachment; at != nil {
				h.instance = aws.ToString(at.InstanceId)
				h.index = aws.ToInt32(at.DeviceIndex)
			}
			var have []string
			for _, pa := range ni.PrivateIpAddresses {
				have = append(have, aws.ToString(pa.PrivateIpAddress))
			}
			for _, a6 := range ni.Ipv6Addresses {
				have = append(have, aws.ToString(a6.Ipv6Address))
			}
			for _, v := range have {
				if a, err := netip.ParseAddr(v); err == nil && slices.Contains(r.addrs, a) {
					held[a] = h
				}
			}
		}
	}
	return held, nil
}

// ours reports whether h is self's interface at the configured index.
func (r *Resource) ours(h holder, self resource.Self) bool {
	if r.cfg.DeviceIndex == 0 && h.eni == self.ENIID {
		return true
	}
	return h.eni != "" && h.instance == self.InstanceID && int(h.index) == r.cfg.DeviceIndex
}

func (r *Resource) status(held map[netip.Addr]holder, self resource.Self) resource.Status {
	var st resource.Status
	for _, a := range r.addrs {
		h, ok := held[a]
		switch {
		case !ok:
			st.Drift = append(st.Drift, fmt.Sprintf("%s: unassigned", a))
		case !r.ours(h, self):
			st.Drift = append(st.Drift, fmt.Sprintf("%s: on %s (%s), want %s device %d", a, h.eni, orNone(h.instance), self.InstanceID, r.cfg.DeviceIndex))
			st.Contested = st.Contested || h.instance != ""
		}
	}
	st.InSync = len(st.Drift) == 0
	return st
}

func orNone(s string) string {
	if s == "" {
		return "detached"
	}
	return s
}

// Check reports whether every address is on self's interface and bound.
func (r *Resource) Check(ctx context.Context, self resource.Self) (resource.Status, error) {
	st, err := r.checkAWS(ctx, self)
	if err != nil {
		return resource.Status{}, err
	}
	for _, b := range r.binders(self) {
		ok, err := b.b.Bound(ctx)
		if err != nil {
			return resource.Status{}, fmt.Errorf("check local address %s: %w", b.addr, err)
		}
		if !ok {
			st.Drift = append(st.Drift, fmt.Sprintf("%s: not bound on the host", b.addr))
		}
	}
	st.InSync = len(st.Drift) == 0
	return st, nil
}

type binding struct {
	addr netip.Addr
	b    Binder
}

func (r *Resource) binders(self resource.Self) []binding {
	if r.opts.Bind == nil {
		return nil
	}
	var out []binding
	for _, a := range r.addrs {
		if slices.Contains(r.opts.Skip, a) {
			continue
		}
		out = append(out, binding{a, r.opts.Bind(self.PrivateIP, netip.PrefixFrom(a, a.BitLen()))})
	}
	return out
}

// Acquire assigns the addresses that are not on self's interface, in one
// call with AllowReassignment, reads back until all are, then binds them on
// the host. Idempotent: addresses already assigned are not sent.
func (r *Resource) Acquire(ctx context.Context, self resource.Self, tok fence.Token) error {
	held, err := r.describe(ctx)
	if err != nil {
		return err
	}
	var missing, missing6 []string
	elsewhere := map[string][]string{} // IPv6 addresses by the interface holding them
	for _, a := range r.addrs {
		h, ok := held[a]
		switch {
		case ok && r.ours(h, self):
		case a.Is6():
			missing6 = append(missing6, a.String())
			if ok {
				elsewhere[h.eni] = append(elsewhere[h.eni], a.String())
			}
		default:
			missing = append(missing, a.String())
		}
	}
	if len(missing)+len(missing6) > 0 {
		eni, err := resource.DeviceENI(ctx, r.ec2, r.opts.CallTimeout, self, r.cfg.DeviceIndex)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			what := fmt.Sprintf("assign %s to %s", strings.Join(missing, ","), eni)
			err = resource.Write(ctx, tok, what, func(ctx context.Context) error {
				_, err := r.ec2.AssignPrivateIpAddresses(ctx, &ec2.AssignPrivateIpAddressesInput{
					NetworkInterfaceId: aws.String(eni),
					PrivateIpAddresses: missing,
					AllowReassignment:  aws.Bool(true),
				})
				return err
			})
			if err != nil {
				return err
			}
		}
		if len(missing6) > 0 {
			if err := r.moveIPv6(ctx, tok, elsewhere, eni, missing6); err != nil {
				return err
			}
		}
		r.log.Debug("addresses assigned", "eni_id", eni, "vip", strings.Join(append(missing, missing6...), ","), "token", tok.N())
		if err := r.verify(ctx, self); err != nil {
			return err
		}
	}
	for _, b := range r.binders(self) {
		if err := b.b.Bind(ctx); err != nil {
			return fmt.Errorf("bind %s: %w", b.addr, err)
		}
	}
	return nil
}

// moveIPv6 unassigns IPv6 addresses from the interfaces holding them,
// then assigns them to eni: AssignIpv6Addresses cannot take an address
// from another interface.
func (r *Resource) moveIPv6(ctx context.Context, tok fence.Token, elsewhere map[string][]string, eni string, addrs []string) error {
	for from, as := range elsewhere {
		what := fmt.Sprintf("unassign %s from %s", strings.Join(as, ","), from)
		err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
			_, err := r.ec2.UnassignIpv6Addresses(ctx, &ec2.UnassignIpv6AddressesInput{
				NetworkInterfaceId: aws.String(from),
				Ipv6Addresses:      as,
			})
			return err
		})
		if err != nil {
			return err
		}
	}
	what := fmt.Sprintf("assign %s to %s", strings.Join(addrs, ","), eni)
	return resource.Write(ctx, tok, what, func(ctx context.Context) error {
		_, err := r.ec2.AssignIpv6Addresses(ctx, &ec2.AssignIpv6AddressesInput{
			NetworkInterfaceId: aws.String(eni),
			Ipv6Addresses:      addrs,
		})
		return err
	})
}

// checkAWS is Check without the host: whether EC2 has every address on
// self's interface.
func (r *Resource) checkAWS(ctx context.Context, self resource.Self) (resource.Status, error) {
	held, err := r.describe(ctx)
	if err != nil {
		return resource.Status{}, err
	}
	return r.status(held, self), nil
}

// verify reads back until every address is on self's interface, riding out
// EC2's eventual consistency, within ctx.
func (r *Resource) verify(ctx context.Context, self resource.Self) error {
	return resource.Verify(ctx, func(ctx context.Context) (resource.Status, error) { return r.checkAWS(ctx, self) })
}

// Unbind removes the addresses from the host and touches nothing in AWS.
// The node calls it whenever it is not the owner (at start and on its
// cleanup tick), so that a process restarted after a crash does not keep
// answering for addresses another node now owns.
func (r *Resource) Unbind(ctx context.Context, self resource.Self) error {
	var errs []error
	for _, b := range r.binders(self) {
		if err := b.b.Unbind(ctx); err != nil {
			errs = append(errs, fmt.Errorf("unbind %s: %w", b.addr, err))
		}
	}
	return errors.Join(errs...)
}

// Release unbinds the addresses on the host, then, unless KeepOnRelease,
// unassigns those still on self's interface. An address another node has
// taken meanwhile is left alone.
func (r *Resource) Release(ctx context.Context, self resource.Self, tok fence.Token) error {
	var errs []error
	for _, b := range r.binders(self) {
		if err := b.b.Unbind(ctx); err != nil {
			errs = append(errs, fmt.Errorf("unbind %s: %w", b.addr, err))
		}
	}
	if r.cfg.KeepOnRelease {
		return errors.Join(errs...)
	}
	held, err := r.describe(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	byENI, byENI6 := map[string][]string{}, map[string][]string{}
	for _, a := range r.addrs {
		if h, ok := held[a]; ok && r.ours(h, self) {
			if a.Is6() {
				byENI6[h.eni] = append(byENI6[h.eni], a.String())
			} else {
				byENI[h.eni] = append(byENI[h.eni], a.String())
			}
		}
	}
	for eni, addrs := range byENI {
		what := fmt.Sprintf("unassign %s from %s", strings.Join(addrs, ","), eni)
		err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
			_, err := r.ec2.UnassignPrivateIpAddresses(ctx, &ec2.UnassignPrivateIpAddressesInput{
				NetworkInterfaceId: aws.String(eni),
				PrivateIpAddresses: addrs,
			})
			return err
		})
		errs = append(errs, err)
	}
	for eni, addrs := range byENI6 {
		what := fmt.Sprintf("unassign %s from %s", strings.Join(addrs, ","), eni)
		err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
			_, err := r.ec2.UnassignIpv6Addresses(ctx, &ec2.UnassignIpv6AddressesInput{
				NetworkInterfaceId: aws.String(eni),
				Ipv6Addresses:      addrs,
			})
			return err
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
