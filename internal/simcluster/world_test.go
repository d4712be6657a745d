package simcluster

import (
	"slices"
	"testing"

	"github.com/vipd/vipd/internal/vpcsim"
)

// The cluster's world loads in vpcsim with the route tables World
// promises: three by default (the witness shares the client's main
// table), the witness's own from four on, then extra tables.
func TestWorldRouteTables(t *testing.T) {
	for _, n := range []int{3, 4, 5, 20} {
		srv, err := vpcsim.New(World("test", n), vpcsim.Options{})
		if err != nil {
			t.Fatalf("World(%d): %v", n, err)
		}
		st := srv.Snapshot()
		_ = srv.Close()
		var ids []string
		for _, rt := range st.RouteTables {
			ids = append(ids, rt.ID)
		}
		if len(ids) != n {
			t.Errorf("World(%d) has %d route tables: %v", n, len(ids), ids)
		}
		if n >= 4 {
			for _, id := range TableIDs(n) {
				if !slices.Contains(ids, id) {
					t.Errorf("World(%d) lacks route table %s of TableIDs", n, id)
				}
			}
		}
		for _, in := range st.Instances {
			if (in.ID == InstanceA || in.ID == InstanceB) && len(in.ENIs) == 0 {
				t.Errorf("World(%d): node %s has no network interface", n, in.ID)
			}
		}
	}
}

// The same-zone world puts both nodes in one subnet and leaves the
// floating interface unattached, as the secondary-ip and eni kinds need.
func TestSameZoneWorld(t *testing.T) {
	srv, err := vpcsim.New(SameZoneWorld("test"), vpcsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := srv.Snapshot()
	_ = srv.Close()
	subnets := map[string]string{}
	for _, in := range st.Instances {
		subnets[in.ID] = in.Subnet
	}
	if subnets[InstanceA] == "" || subnets[InstanceA] != subnets[InstanceB] {
		t.Errorf("nodes in subnets %q and %q, want one", subnets[InstanceA], subnets[InstanceB])
	}
	found := false
	for _, e := range st.NetworkInterfaces {
		if e.ID == FloatENI {
			found = true
			if e.Instance != "" || e.PrivateIP != FloatIP {
				t.Errorf("floating interface %+v, want unattached with %s", e, FloatIP)
			}
		}
	}
	if !found {
		t.Errorf("no floating interface %s", FloatENI)
	}
}

// TestWithIPv6 pins the addresses the IPv6 harnesses dial: the world
// loads in vpcsim, the nodes' subnet is 2001:db8:c1a:1::/64 and each
// instance holds the address written with its IPv4 address's last byte.
func TestWithIPv6(t *testing.T) {
	srv, err := vpcsim.New(WithIPv6(SameZoneWorld("v6")), vpcsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := srv.Snapshot()
	if st.VPCs[0].IPv6CIDR != "2001:db8:c1a::/56" || st.Subnets[0].IPv6CIDR != "2001:db8:c1a:1::/64" {
		t.Fatalf("blocks: vpc %s, subnet %s", st.VPCs[0].IPv6CIDR, st.Subnets[0].IPv6CIDR)
	}
	for _, e := range st.NetworkInterfaces {
		if e.PrivateIP == "10.0.1.11" && (len(e.IPv6Addresses) != 1 || e.IPv6Addresses[0] != "2001:db8:c1a:1::11") {
			t.Errorf("node b's IPv6 addresses %v, want [2001:db8:c1a:1::11]", e.IPv6Addresses)
		}
	}
}
