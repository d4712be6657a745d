package osnet

import (
	"context"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// testNamespace creates a network namespace of the test's own and returns
// a netlink handle into it; both are closed when the test ends, which
// removes the namespace and everything in it. Root only: it skips
// elsewhere, but fails under CI=true, where it must run.
func testNamespace(t *testing.T) *netlink.Handle {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to create a network namespace, and CI=true")
		}
		t.Skip("needs root to create a network namespace")
	}
	// netns.New switches the calling thread; pin it and switch back.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	if err := netns.Set(orig); err != nil {
		t.Fatalf("return to the original namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func TestPolicyRoutingInNamespace(t *testing.T) {
	h := testNamespace(t)
	ctx := t.Context()
	mac, _ := net.ParseMAC("02:00:00:00:0e:01")
	pol := Policy{MAC: mac, Subnet: netip.MustParsePrefix("10.0.1.0/24"), Table: 100, Priority: 100}
	p := NewPolicyRoutingAt(h)

	// The ENI is not there yet: WaitLink gives up at its deadline.
	wctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	if _, err := p.WaitLink(wctx, mac); err == nil {
		t.Error("WaitLink found an interface that does not exist")
	}
	cancel()
	if err := p.Apply(ctx, pol); err == nil {
		t.Error("Apply without the interface succeeded")
	}

	// "Attach" it: a veth whose end carries the ENI's MAC.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eni0", HardwareAddr: mac}, PeerName: "eni0-peer"}
	if err := h.LinkAdd(veth); err != nil {
		t.Fatalf("add veth: %v", err)
	}
	name, err := p.WaitLink(ctx, mac)
	if err != nil || name != "eni0" {
		t.Fatalf("WaitLink = %q, %v; want eni0", name, err)
	}
	drift, err := p.Drift(ctx, pol)
	if err != nil || len(drift) != 2 {
		t.Fatalf("Drift before Apply = %q, %v; want rule and route missing", drift, err)
	}

	// A stale route from an earlier owner of the table must be flushed.
	l, _ := h.LinkByName("eni0")
	if err := h.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	// The ENI's primary address, as DHCP configures it on EC2.
	if err := h.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 0, 1, 50).To4(), Mask: net.CIDRMask(24, 32)}}); err != nil {
		t.Fatal(err)
	}
	stale := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: &net.IPNet{IP: net.IPv4(10, 9, 0, 0).To4(), Mask: net.CIDRMask(16, 32)}, Table: 100}
	if err := h.RouteAdd(stale); err != nil {
		t.Fatalf("add stale route: %v", err)
	}

	for i := range 2 { // the second Apply must change nothing
		if err := p.Apply(ctx, pol); err != nil {
			t.Fatalf("Apply #%d: %v", i+1, err)
		}
	}
	if drift, err := p.Drift(ctx, pol); err != nil || len(drift) != 0 {
		t.Errorf("Drift after Apply = %q, %v", drift, err)
	}
	rules, err := h.RuleList(netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rules {
		if r.Table == 100 {
			n++
			if r.Priority != 100 || r.Src.String() != "10.0.1.0/24" {
				t.Errorf("rule = %s, want from 10.0.1.0/24 priority 100", r)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d rules for table 100, want 1", n)
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: 100}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range routes {
		got = append(got, r.Gw.String()+" "+linkName(h, r.LinkIndex))
	}
	if !slices.Equal(got, []string{"10.0.1.1 eni0"}) {
		t.Errorf("table 100 = %v, want only the default route via 10.0.1.1 on eni0", got)
	}

	// Drift repair: someone deletes the rule.
	if err := h.RuleDel(&rules[slices.IndexFunc(rules, func(r netlink.Rule) bool { return r.Table == 100 })]); err != nil {
		t.Fatal(err)
	}
	if drift, _ := p.Drift(ctx, pol); len(drift) != 1 {
		t.Errorf("Drift after the rule was deleted = %q", drift)
	}
	if err := p.Apply(ctx, pol); err != nil {
		t.Fatal(err)
	}

	for i := range 2 {
		if err := p.Remove(ctx, pol); err != nil {
			t.Fatalf("Remove #%d: %v", i+1, err)
		}
	}
	rules, _ = h.RuleList(netlink.FAMILY_V4)
	for _, r := range rules {
		if r.Table == 100 {
			t.Errorf("rule left after Remove: %s", r)
		}
	}
	routes, _ = h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: 100}, netlink.RT_FILTER_TABLE)
	if len(routes) != 0 {
		t.Errorf("routes left in table 100 after Remove: %v", routes)
	}
}

func linkName(h *netlink.Handle, idx int) string {
	l, err := h.LinkByIndex(idx)
	if err != nil {
		return "?"
	}
	return l.Attrs().Name
}

func TestNoPolicy(t *testing.T) {
	var p NoPolicy
	pol := Policy{Subnet: netip.MustParsePrefix("10.0.1.0/24")}
	if pol.Router() != netip.MustParseAddr("10.0.1.1") {
		t.Errorf("Router = %s", pol.Router())
	}
	if err := p.Apply(t.Context(), pol); err != nil {
		t.Error(err)
	}
	if d, err := p.Drift(t.Context(), pol); d != nil || err != nil {
		t.Errorf("Drift = %v, %v", d, err)
	}
}
