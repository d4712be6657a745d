package simcluster

import (
	"net/netip"
	"slices"

	"github.com/vipd/vipd/internal/vpcsim"
)

// RouteTargets returns, per route table of st (every table, or those
// listed in tables when it is not nil), where its route to dst goes: the
// network interface, or the instance for a route that names one; "" for
// a table with no such route.
func RouteTargets(st vpcsim.State, dst netip.Prefix, tables []string) map[string]string {
	out := map[string]string{}
	for _, t := range st.RouteTables {
		if tables != nil && !slices.Contains(tables, t.ID) {
			continue
		}
		out[t.ID] = ""
		for _, r := range t.Routes {
			if r.Destination != dst.String() {
				continue
			}
			out[t.ID] = r.NetworkInterfaceID
			if r.NetworkInterfaceID == "" {
				out[t.ID] = r.InstanceID
			}
		}
	}
	return out
}

// RouteOwner names the member every table routes to, given targets
// (RouteTargets) and names (network interface or instance id → member):
// "" when there are no tables, a table has no route or routes elsewhere,
// or the tables disagree.
func RouteOwner(targets map[string]string, names map[string]string) string {
	owner := ""
	for _, target := range targets {
		name := names[target]
		if target == "" || name == "" || (owner != "" && name != owner) {
			return ""
		}
		owner = name
	}
	return owner
}
