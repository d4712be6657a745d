package osnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// PolicyRouting sets Policy up with netlink, in the network namespace its
// handle was opened in. Its methods are safe to call from one goroutine at
// a time (the node's resource worker).
type PolicyRouting struct {
	h *netlink.Handle
}

// NewPolicyRouting returns a PolicyRouting for the current network
// namespace.
func NewPolicyRouting() *PolicyRouting {
	return &PolicyRouting{h: &netlink.Handle{}} // the zero Handle talks to the current namespace
}

// NewPolicyRoutingAt returns a PolicyRouting for the namespace h was opened
// in (netlink.NewHandleAt); tests use it on a namespace of their own.
func NewPolicyRoutingAt(h *netlink.Handle) *PolicyRouting { return &PolicyRouting{h: h} }

// link finds the interface with mac; ok is false when there is none yet.
func (p *PolicyRouting) link(mac net.HardwareAddr) (netlink.Link, bool, error) {
	links, err := p.h.LinkList()
	if err != nil {
		return nil, false, fmt.Errorf("list interfaces: %w", err)
	}
	for _, l := range links {
		if bytes.Equal(l.Attrs().HardwareAddr, mac) {
			return l, true, nil
		}
	}
	return nil, false, nil
}

// WaitLink waits until the kernel shows an interface with mac, polling
// every 100 ms within ctx, and returns its name. After an ENI attachment
// completes the driver takes a moment to register the device.
func (p *PolicyRouting) WaitLink(ctx context.Context, mac net.HardwareAddr) (string, error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		l, ok, err := p.link(mac)
		if err != nil {
			return "", err
		}
		if ok {
			return l.Attrs().Name, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for interface with MAC %s: %w", mac, ctx.Err())
		case <-t.C:
		}
	}
}

func (p *PolicyRouting) mustLink(mac net.HardwareAddr) (netlink.Link, error) {
	l, ok, err := p.link(mac)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("find interface with MAC %s: none", mac)
	}
	return l, nil
}

func ipnet(pol Policy) *net.IPNet {
	s := pol.Subnet.Masked()
	return &net.IPNet{IP: s.Addr().AsSlice(), Mask: net.CIDRMask(s.Bits(), s.Addr().BitLen())}
}

// rules returns the rules that match pol's source, table and priority.
func (p *PolicyRouting) rules(pol Policy) ([]netlink.Rule, error) {
	all, err := p.h.RuleList(netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	src := ipnet(pol)
	var out []netlink.Rule
	for _, r := range all {
		if r.Table == pol.Table && r.Priority == pol.Priority && r.Src != nil && r.Src.String() == src.String() {
			out = append(out, r)
		}
	}
	return out, nil
}

func (p *PolicyRouting) tableRoutes(pol Policy) ([]netlink.Route, error) {
	rs, err := p.h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: pol.Table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes of table %d: %w", pol.Table, err)
	}
	return rs, nil
}

func (p *PolicyRouting) defaultRoute(l netlink.Link, pol Policy) *netlink.Route {
	return &netlink.Route{
		LinkIndex: l.Attrs().Index,
		Dst:       &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)},
		Gw:        pol.Router().AsSlice(),
		Table:     pol.Table,
		// The router is on the interface's subnet, one hop away, but the
		// interface's address may not be configured yet (DHCP on a freshly
		// attached ENI): onlink lets the route in as long as the kernel
		// can route to the router at all (via eth0's default route).
		Flags: int(netlink.FLAG_ONLINK),
	}
}

// Apply brings the interface up and makes the table hold exactly the
// default route via the subnet router on it, and the rule send the
// subnet's traffic there. Idempotent.
func (p *PolicyRouting) Apply(ctx context.Context, pol Policy) error {
	l, err := p.mustLink(pol.MAC)
	if err != nil {
		return err
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		if err := p.h.LinkSetUp(l); err != nil {
			return fmt.Errorf("set %s up: %w", l.Attrs().Name, err)
		}
	}
	want := p.defaultRoute(l, pol)
	rs, err := p.tableRoutes(pol)
	if err != nil {
		return err
	}
	// `ip route flush table N`, except the route we are about to
	// (re)write, so that an applied policy is never briefly without it.
	for _, r := range rs {
		if isDefaultVia(r, want) {
			continue
		}
		if err := p.h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("flush route %s from table %d: %w", r, pol.Table, err)
		}
	}
	if err := p.h.RouteReplace(want); err != nil {
		return fmt.Errorf("add default route via %s dev %s table %d: %w", pol.Router(), l.Attrs().Name, pol.Table, err)
	}
	have, err := p.rules(pol)
	if err != nil {
		return err
	}
	if len(have) == 0 {
		r := netlink.NewRule()
		r.Family = unix.AF_INET
		r.Src, r.Table, r.Priority = ipnet(pol), pol.Table, pol.Priority
		if err := p.h.RuleAdd(r); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add rule from %s table %d priority %d: %w", pol.Subnet, pol.Table, pol.Priority, err)
		}
	}
	return ctx.Err()
}

func isDefaultVia(r netlink.Route, want *netlink.Route) bool {
	ones := 0
	if r.Dst != nil {
		ones, _ = r.Dst.Mask.Size()
	}
	return ones == 0 && r.LinkIndex == want.LinkIndex && r.Gw.Equal(want.Gw)
}

// Remove deletes the rule and flushes the table, as an ENI-move failover's ifdown
// script does. Idempotent: what is already gone is success, and so is a
// missing interface (the routes left with it).
func (p *PolicyRouting) Remove(ctx context.Context, pol Policy) error {
	var errs []error
	rules, err := p.rules(pol)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if err := p.h.RuleDel(&r); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("delete rule from %s table %d: %w", pol.Subnet, pol.Table, err))
		}
	}
	rs, err := p.tableRoutes(pol)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, r := range rs {
		if err := p.h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("flush route %s from table %d: %w", r, pol.Table, err))
		}
	}
	return errors.Join(errs...)
}

// Drift lists what differs from an applied pol: a missing interface, rule
// or default route.
func (p *PolicyRouting) Drift(ctx context.Context, pol Policy) ([]string, error) {
	l, ok, err := p.link(pol.MAC)
	if err != nil {
		return nil, err
	}
	if !ok {
		return []string{fmt.Sprintf("no interface with MAC %s", pol.MAC)}, nil
	}
	var drift []string
	rules, err := p.rules(pol)
	if err != nil {
		return nil, err
	}
	if len(rules) == 0 {
		drift = append(drift, fmt.Sprintf("rule from %s table %d priority %d: missing", pol.Subnet, pol.Table, pol.Priority))
	}
	rs, err := p.tableRoutes(pol)
	if err != nil {
		return nil, err
	}
	want := p.defaultRoute(l, pol)
	found := false
	for _, r := range rs {
		found = found || isDefaultVia(r, want)
	}
	if !found {
		drift = append(drift, fmt.Sprintf("table %d: no default route via %s dev %s", pol.Table, pol.Router(), l.Attrs().Name))
	}
	return drift, ctx.Err()
}
