package simcluster

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim"
)

// The owner of a routed address is the member every table sends it to;
// a table without the route, a route to someone else, or tables that
// disagree mean nobody owns it (mid-failover, or split).
func TestRouteOwner(t *testing.T) {
	dst := netip.MustParsePrefix("192.168.100.10/32")
	route := func(eni string) []vpcsim.RouteState {
		return []vpcsim.RouteState{{Destination: "10.0.0.0/16", Target: "local"}, {Destination: dst.String(), NetworkInterfaceID: eni}}
	}
	st := vpcsim.State{RouteTables: []vpcsim.RouteTableState{
		{ID: "rtb-1", Routes: route("eni-a")},
		{ID: "rtb-2", Routes: route("eni-a")},
		{ID: "rtb-3", Routes: route("eni-b")},
		{ID: "rtb-4", Routes: []vpcsim.RouteState{{Destination: "10.0.0.0/16", Target: "local"}}},
	}}
	want := map[string]string{"rtb-1": "eni-a", "rtb-2": "eni-a", "rtb-3": "eni-b", "rtb-4": ""}
	if diff := cmp.Diff(want, RouteTargets(st, dst, nil)); diff != "" {
		t.Errorf("RouteTargets (-want +got):\n%s", diff)
	}
	names := map[string]string{"eni-a": "a", "eni-b": "b"}
	for _, tt := range []struct {
		tables []string
		want   string
	}{
		{[]string{"rtb-1", "rtb-2"}, "a"},
		{[]string{"rtb-3"}, "b"},
		{[]string{"rtb-1", "rtb-3"}, ""},
		{[]string{"rtb-1", "rtb-4"}, ""},
		{[]string{"rtb-4"}, ""},
		{[]string{}, ""},
	} {
		if got := RouteOwner(RouteTargets(st, dst, tt.tables), names); got != tt.want {
			t.Errorf("RouteOwner of tables %v = %q, want %q", tt.tables, got, tt.want)
		}
	}
	if got := RouteOwner(RouteTargets(st, dst, []string{"rtb-1"}), map[string]string{"eni-b": "b"}); got != "" {
		t.Errorf("RouteOwner of a table routed to an unknown interface = %q, want none", got)
	}
}
