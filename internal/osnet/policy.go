package osnet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// Policy is an ENI-move failover's policy routing for an interface that moves between
// instances (an ENI at device index ≥ 1): replies from the interface's
// subnet must leave by that interface, not by eth0, or the VPC drops them
// (source/dest check) or routes them asymmetrically. As that failover's ifup
// script does it:
//
//	ip route flush table <Table>
//	ip rule add from <Subnet> table <Table> priority <Priority>
//	ip route add default via <subnet router> dev <interface> table <Table>
type Policy struct {
	// MAC identifies the interface: its kernel name (eth1, ens6) depends
	// on the driver and the device index, the MAC does not.
	MAC net.HardwareAddr
	// Subnet is the interface's subnet (IMDS subnet-ipv4-cidr-block).
	Subnet netip.Prefix
	// Table and Priority as in /etc/iproute2/rt_tables and `ip rule`.
	Table    int
	Priority int
}

// Router returns the subnet's router: AWS reserves the subnet's first host
// address for the VPC router (10.0.1.1 in 10.0.1.0/24).
func (p Policy) Router() netip.Addr { return p.Subnet.Masked().Addr().Next() }

func (p Policy) String() string {
	return fmt.Sprintf("from %s table %d priority %d via %s dev %s", p.Subnet, p.Table, p.Priority, p.Router(), p.MAC)
}

// NoPolicy is the policy router of `host: none`: it changes nothing and
// reports success, for tests, the rootless demo, and hosts where another
// tool (ec2-net-utils, an ENI-move failover's ifup scripts) sets policy routing up.
type NoPolicy struct{}

// WaitLink returns at once: there is no host interface to wait for.
func (NoPolicy) WaitLink(ctx context.Context, mac net.HardwareAddr) (string, error) {
	return "(host none)", ctx.Err()
}

// Apply does nothing.
func (NoPolicy) Apply(context.Context, Policy) error { return nil }

// Remove does nothing.
func (NoPolicy) Remove(context.Context, Policy) error { return nil }

// Drift reports nothing: nothing is wanted on the host.
func (NoPolicy) Drift(context.Context, Policy) ([]string, error) { return nil, nil }
