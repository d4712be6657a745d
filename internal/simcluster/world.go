package simcluster

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/vipd/vipd/internal/vpcsim"
)

// The simulated cluster's VPC (World): node a and node b in two zones, a
// witness in a third, and an application subnet whose instance is the
// client. The service address lies outside the VPC's CIDR (an overlay
// address) and is routed in the tables.
const (
	VPC            = "vpc-0c1a0000000000001"
	InstanceA      = "i-0a000000000000001"
	InstanceB      = "i-0b000000000000002"
	InstanceW      = "i-0c000000000000003"
	ClientInstance = "i-0d000000000000004"
	// AppSubnet is the client's subnet; AppTable its route table, the
	// VPC's main table.
	AppSubnet = "subnet-0d000000000000004"
	AppTable  = "rtb-0d000000000000004"
	// NodeRole is the nodes' instance role.
	NodeRole = "vipd-node"
)

// NodeActions are what the nodes' role allows: every EC2 action of the
// resource kinds the clusters run, and the dynamodb election's calls on
// its table (vipd iam-policy lists the same).
var NodeActions = []string{
	"ec2:DescribeRouteTables", "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces",
	"ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute", "ec2:ModifyInstanceAttribute",
	"ec2:DescribeInstanceAttribute", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
	"ec2:AssignIpv6Addresses", "ec2:UnassignIpv6Addresses",
	"ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface", "ec2:DescribeAddresses",
	"ec2:AssociateAddress", "ec2:DisassociateAddress",
	"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
}

// World is the cluster's VPC with the given number of route tables. Up to
// three it has three: one per node's subnet, and the main table for the
// witness's and the client's subnets. From four on the witness's subnet
// has a table of its own, and each further table is one no subnet uses
// (a VPC with many tables, for the scale benchmark); TableIDs lists them.
func World(name string, tables int) *vpcsim.World {
	subnet := func(id, name, cidr, az string) vpcsim.Subnet {
		return vpcsim.Subnet{ID: id, Name: name, VPC: VPC, CIDR: cidr, AZ: az}
	}
	table := func(id, name string, main bool, subnets ...string) vpcsim.RouteTable {
		return vpcsim.RouteTable{ID: id, Name: name, VPC: VPC, Main: main, Subnets: subnets}
	}
	w := &vpcsim.World{
		Region: "us-east-1",
		VPCs:   []vpcsim.VPC{{ID: VPC, Name: name, CIDR: "10.0.0.0/16"}},
		Subnets: []vpcsim.Subnet{
			subnet("subnet-0a000000000000001", "db-a", "10.0.1.0/24", "us-east-1a"),
			subnet("subnet-0b000000000000002", "db-b", "10.0.2.0/24", "us-east-1b"),
			subnet("subnet-0c000000000000003", "witness", "10.0.3.0/24", "us-east-1c"),
			subnet(AppSubnet, "app", "10.0.4.0/24", "us-east-1a"),
		},
		Roles: []vpcsim.Role{{Name: NodeRole, Actions: NodeActions}},
		Instances: []vpcsim.Instance{
			{ID: InstanceA, Name: "node-a", Subnet: "subnet-0a000000000000001", PrivateIP: "10.0.1.10", Role: NodeRole},
			{ID: InstanceB, Name: "node-b", Subnet: "subnet-0b000000000000002", PrivateIP: "10.0.2.10", Role: NodeRole},
			{ID: InstanceW, Name: "witness", Subnet: "subnet-0c000000000000003", PrivateIP: "10.0.3.10"},
			{ID: ClientInstance, Name: "app", Subnet: AppSubnet, PrivateIP: "10.0.4.10"},
		},
	}
	db := []vpcsim.RouteTable{
		table("rtb-0a000000000000001", "db-a", false, "subnet-0a000000000000001"),
		table("rtb-0b000000000000002", "db-b", false, "subnet-0b000000000000002"),
	}
	if tables <= 3 {
		w.RouteTables = append(db, table(AppTable, "app", true, "subnet-0c000000000000003", AppSubnet))
		return w
	}
	w.RouteTables = append([]vpcsim.RouteTable{table(AppTable, "app", true, AppSubnet)}, db...)
	w.RouteTables = append(w.RouteTables, table("rtb-0c000000000000003", "witness", false, "subnet-0c000000000000003"))
	for i, id := range TableIDs(tables)[4:] {
		w.RouteTables = append(w.RouteTables, table(id, fmt.Sprintf("extra-%d", i+1), false))
	}
	return w
}

// TableIDs returns the IDs of the first n route tables of a World with at
// least four: the client's first (so that one table is enough for the
// client), then the nodes', the witness's, then the extra tables.
func TableIDs(n int) []string {
	ids := []string{AppTable, "rtb-0a000000000000001", "rtb-0b000000000000002", "rtb-0c000000000000003"}
	for i := len(ids); i < n; i++ {
		ids = append(ids, fmt.Sprintf("rtb-0e%015d", i))
	}
	return ids[:n]
}

// FloatENI is the interface SameZoneWorld leaves unattached for the eni
// kind to move, with the address FloatIP.
const (
	FloatENI = "eni-0f000000000000016"
	FloatIP  = "10.0.5.10"
)

// SameZoneWorld is the cluster's VPC for the kinds that move only within
// a subnet or a zone (a secondary IP moves within its subnet, an ENI
// within its zone): both nodes in one subnet of one zone (10.0.1.10 and
// .11), a witness in a third zone, the client's subnet, and a subnet for
// the floating interface FloatENI, which starts unattached (as an
// ENI-move failover's spare interface does). One main route table serves
// every subnet.
func SameZoneWorld(name string) *vpcsim.World {
	const vpc, db = "vpc-0c4a0000000000002", "subnet-0a000000000000011"
	subnet := func(id, name, cidr, az string) vpcsim.Subnet {
		return vpcsim.Subnet{ID: id, Name: name, VPC: vpc, CIDR: cidr, AZ: az}
	}
	return &vpcsim.World{
		Region: "us-east-1",
		VPCs:   []vpcsim.VPC{{ID: vpc, Name: name, CIDR: "10.0.0.0/16"}},
		Subnets: []vpcsim.Subnet{
			subnet(db, "db", "10.0.1.0/24", "us-east-1a"),
			subnet("subnet-0c000000000000013", "witness", "10.0.3.0/24", "us-east-1c"),
			subnet("subnet-0d000000000000014", "app", "10.0.4.0/24", "us-east-1a"),
			subnet("subnet-0e000000000000015", "float", "10.0.5.0/24", "us-east-1a"),
		},
		RouteTables: []vpcsim.RouteTable{{ID: "rtb-0d000000000000014", Name: "main", VPC: vpc, Main: true}},
		Roles:       []vpcsim.Role{{Name: NodeRole, Actions: NodeActions}},
		Instances: []vpcsim.Instance{
			{ID: InstanceA, Name: "node-a", Subnet: db, PrivateIP: "10.0.1.10", Role: NodeRole},
			{ID: InstanceB, Name: "node-b", Subnet: db, PrivateIP: "10.0.1.11", Role: NodeRole},
			{ID: InstanceW, Name: "witness", Subnet: "subnet-0c000000000000013", PrivateIP: "10.0.3.10"},
			{ID: ClientInstance, Name: "app", Subnet: "subnet-0d000000000000014", PrivateIP: "10.0.4.10"},
		},
		NetworkInterfaces: []vpcsim.NetworkInterface{{ID: FloatENI, Name: "float", Subnet: "subnet-0e000000000000015",
			PrivateIP: FloatIP, MAC: "02:f1:0a:70:00:01", Description: "vipd floating interface"}},
	}
}

// WithIPv6 gives w IPv6 as EC2 would after AssociateVpcCidrBlock and
// AssociateSubnetCidrBlock: each VPC a /56 of the documentation prefix
// (the n-th VPC 2001:db8:c1a:n00::/56), each subnet the /64 numbered
// by its IPv4 block's third byte (10.0.4.0/24: 2001:db8:c1a:4::/64 in
// the first VPC), and each instance's primary interface the address
// written with its IPv4 address's last byte (10.0.4.10:
// 2001:db8:c1a:4::10). It changes w and returns it.
func WithIPv6(w *vpcsim.World) *vpcsim.World {
	blocks := map[string]netip.Prefix{}
	for i := range w.VPCs {
		b := netip.MustParsePrefix(fmt.Sprintf("2001:db8:c1a:%x00::/56", i)).Masked()
		w.VPCs[i].IPv6CIDR, blocks[w.VPCs[i].ID], blocks[w.VPCs[i].Name] = b.String(), b, b
	}
	nets := map[string]netip.Prefix{}
	for i, s := range w.Subnets {
		v4 := netip.MustParsePrefix(s.CIDR).Addr().As4()
		b := blocks[s.VPC].Addr().As16()
		b[7] = v4[2]
		p := netip.PrefixFrom(netip.AddrFrom16(b), 64)
		w.Subnets[i].IPv6CIDR, nets[s.ID], nets[s.Name] = p.String(), p, p
	}
	for i, in := range w.Instances {
		p, ok := nets[in.Subnet]
		if !ok || in.PrivateIP == "" {
			continue
		}
		last := netip.MustParseAddr(in.PrivateIP).As4()[3]
		a := netip.MustParseAddr(fmt.Sprintf("%s%d", strings.TrimSuffix(p.Addr().String(), "::")+"::", last))
		w.Instances[i].IPv6Addresses = []string{a.String()}
	}
	return w
}
