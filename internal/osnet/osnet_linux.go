package osnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Netlink binds Prefix on the interface named Interface, or, when Interface
// is "auto", on the interface that holds Primary (the instance's primary
// private IP, from IMDS).
type Netlink struct {
	Interface string
	Primary   netip.Addr
	Prefix    netip.Prefix
}

// NewBinder returns the Binder for an interface mode: "none", "auto" or a name.
func NewBinder(iface string, primary netip.Addr, p netip.Prefix) Binder {
	if iface == "none" {
		return None{Prefix: p}
	}
	return &Netlink{Interface: iface, Primary: primary, Prefix: p}
}

func (n *Netlink) String() string { return fmt.Sprintf("%s on %s", n.Prefix, n.Interface) }

func (n *Netlink) link() (netlink.Link, error) {
	if n.Interface != "auto" {
		l, err := netlink.LinkByName(n.Interface)
		if err != nil {
			return nil, fmt.Errorf("find interface %s: %w", n.Interface, err)
		}
		return l, nil
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == n.Primary {
			l, err := netlink.LinkByIndex(a.LinkIndex)
			if err != nil {
				return nil, fmt.Errorf("find interface holding %s: %w", n.Primary, err)
			}
			return l, nil
		}
	}
	return nil, fmt.Errorf("find interface holding %s: no interface has it", n.Primary)
}

func (n *Netlink) addr() *netlink.Addr {
	a := &netlink.Addr{IPNet: &net.IPNet{
		IP:   n.Prefix.Addr().AsSlice(),
		Mask: net.CIDRMask(n.Prefix.Bits(), n.Prefix.Addr().BitLen()),
	}}
	if n.Prefix.Addr().Is6() {
		// Without nodad, Linux holds a new IPv6 address tentative for
		// duplicate address detection (about a second) and neither
		// accepts connections to it nor sources packets from it: the
		// failover would wait for DAD. The address is the cluster's to
		// hand out, and routes (or EC2's assignment) make it unique, so
		// the check adds nothing; keepalived adds its IPv6 VIPs the same way.
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// Bind adds the address; an address already present is success.
func (n *Netlink) Bind(ctx context.Context) error {
	l, err := n.link()
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(l, n.addr()); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add address %s to %s: %w", n.Prefix, l.Attrs().Name, err)
	}
	return nil
}

// Unbind removes the address; an address already gone is success.
func (n *Netlink) Unbind(ctx context.Context) error {
	l, err := n.link()
	if err != nil {
		return err
	}
	if err := netlink.AddrDel(l, n.addr()); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove address %s from %s: %w", n.Prefix, l.Attrs().Name, err)
	}
	return nil
}

// Bound reports whether the address is on the interface.
func (n *Netlink) Bound(ctx context.Context) (bool, error) {
	l, err := n.link()
	if err != nil {
		return false, err
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return false, fmt.Errorf("list addresses of %s: %w", l.Attrs().Name, err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == n.Prefix.Addr() {
			return true, nil
		}
	}
	return false, nil
}
