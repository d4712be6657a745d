package overlayroute

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/resource"
)

// Kind describes overlay-route to the registry: acquired after the
// addresses (ebs-volume, eni, secondary-ip, elastic-ip) and just before the
// local address, so that traffic routed to the owner finds it bound; it
// changes only route tables and the owner's source/dest check.
func Kind() resource.Kind {
	return resource.Kind{
		Name:      config.KindOverlayRoute,
		Order:     500,
		Side:      resource.Cloud,
		Policy:    policy,
		Preflight: preflight,
		New: func(r config.Resource, env resource.Env) (resource.Resource, error) {
			return New(*r.OverlayRoute, env.Clients.EC2, Options{CallTimeout: env.CallTimeout}, env.Log), nil
		},
	}
}
