package netns_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// world6 is world with IPv6: the VPC's /56, a /64 per subnet, an IPv6
// address on each instance's primary interface, and an overlay route for
// an IPv6 address outside the VPC (a unique local address).
var world6 = strings.NewReplacer(
	"cidr: 10.0.0.0/16}", `cidr: 10.0.0.0/16, ipv6-cidr: "2001:db8:1::/56"}`,
	"cidr: 10.0.1.0/24, az: a}", `cidr: 10.0.1.0/24, az: a, ipv6-cidr: "2001:db8:1:1::/64"}`,
	"cidr: 10.0.2.0/24, az: b}", `cidr: 10.0.2.0/24, az: b, ipv6-cidr: "2001:db8:1:2::/64"}`,
	"cidr: 10.0.4.0/24, az: a}", `cidr: 10.0.4.0/24, az: a, ipv6-cidr: "2001:db8:1:4::/64"}`,
	"private-ip: 10.0.1.10, eni-id: eni-0a000000000000001,", `private-ip: 10.0.1.10, eni-id: eni-0a000000000000001, ipv6-addresses: ["2001:db8:1:1::10"],`,
	"private-ip: 10.0.2.10, eni-id: eni-0b000000000000002,", `private-ip: 10.0.2.10, eni-id: eni-0b000000000000002, ipv6-addresses: ["2001:db8:1:2::10"],`,
	"private-ip: 10.0.1.20, eni-id: eni-0c000000000000003}", `private-ip: 10.0.1.20, eni-id: eni-0c000000000000003, ipv6-addresses: ["2001:db8:1:1::20"]}`,
	"private-ip: 10.0.4.10}", `private-ip: 10.0.4.10, ipv6-addresses: ["2001:db8:1:4::10"]}`,
	"      - {destination: 192.168.100.10/32, network-interface: eni-0a000000000000001}",
	"      - {destination: 192.168.100.10/32, network-interface: eni-0a000000000000001}\n      - {destination: \"fd00:ec2::10/128\", network-interface: eni-0a000000000000001}",
).Replace(world)

var vip6 = netip.MustParseAddr("fd00:ec2::10")

// TestIPv6OverlayFollowsReplaceRoute: real IPv6 packets from the client's
// namespace reach an instance's own IPv6 address by the VPC's local
// route, and an overlay IPv6 address by the route table's IPv6 route,
// which ReplaceRoute moves, as for IPv4.
func TestIPv6OverlayFollowsReplaceRoute(t *testing.T) {
	e := startWorld(t, world6)
	if !strings.Contains(world6, "fd00:ec2::10/128") || !strings.Contains(world6, "2001:db8:1:4::10") {
		t.Fatalf("world6 did not take the IPv6 additions:\n%s", world6)
	}
	e.waitReach(t, netip.MustParseAddr("2001:db8:1:1::20"), instC)
	e.bind(t, instA, vip6, vip)
	e.bind(t, instB, vip6)
	e.waitReach(t, vip6, instA)
	_, err := e.ec2.ReplaceRoute(t.Context(), &ec2.ReplaceRouteInput{RouteTableId: aws.String(rtbApp),
		DestinationIpv6CidrBlock: aws.String(vip6.String() + "/128"), NetworkInterfaceId: aws.String(eniB)})
	if err != nil {
		t.Fatal(err)
	}
	e.waitReach(t, vip6, instB)
	e.waitReach(t, vip, instA) // the IPv4 overlay is untouched
}

// TestIPv6AddressMovesWithAssignment: an IPv6 address assigned to an ENI
// is delivered to that ENI's instance; moved (unassigned, then assigned
// elsewhere: AssignIpv6Addresses does not reassign), it follows.
func TestIPv6AddressMovesWithAssignment(t *testing.T) {
	e := startWorld(t, world6)
	sec := netip.MustParseAddr("2001:db8:1:1::50")
	e.bind(t, instA, sec)
	e.bind(t, instC, sec) // both hold it locally: only the VPC's routing decides
	if _, err := e.ec2.AssignIpv6Addresses(t.Context(), &ec2.AssignIpv6AddressesInput{
		NetworkInterfaceId: aws.String(eniA), Ipv6Addresses: []string{sec.String()}}); err != nil {
		t.Fatal(err)
	}
	e.waitReach(t, sec, instA)
	if _, err := e.ec2.UnassignIpv6Addresses(t.Context(), &ec2.UnassignIpv6AddressesInput{
		NetworkInterfaceId: aws.String(eniA), Ipv6Addresses: []string{sec.String()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ec2.AssignIpv6Addresses(t.Context(), &ec2.AssignIpv6AddressesInput{
		NetworkInterfaceId: aws.String(eniC), Ipv6Addresses: []string{sec.String()}}); err != nil {
		t.Fatal(err)
	}
	e.waitReach(t, sec, instC)
}
