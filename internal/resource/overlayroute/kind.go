package overlayroute

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/resource"
)

// Kind describes overlay-route to the registry: acquired after the
// addresses (ebs-volume, eni, secondary-ip, elastic-ip) and after the
// local address is bound, so that traffic routed to the owner finds it
// bound from the first route written: a client is served as soon as its
// own table points here, without waiting for the other tables and the
// read-back (bench/RESULTS.md, tuned speed). It changes only route tables
// and the owner's source/dest check.
//
// Binding first does not make two owners: the plan binds only under a
// valid grant (the lease holder's), and the previous holder unbound the
// address when its grant ended, before this one began. An overlay address
// lies outside the VPC's CIDR blocks, so the VPC delivers it nowhere but
// where a route table sends it: bound here before the routes move, it
// receives nothing until they do, and the host it is taken from gets no
// more traffic for it once they have.
func Kind() resource.Kind {
	return resource.Kind{
		Name:      config.KindOverlayRoute,
		Order:     650,
		Side:      resource.Cloud,
		Policy:    policy,
		Preflight: preflight,
		New: func(r config.Resource, env resource.Env) (resource.Resource, error) {
			return New(*r.OverlayRoute, env.Clients.EC2, Options{CallTimeout: env.CallTimeout}, env.Log), nil
		},
	}
}
