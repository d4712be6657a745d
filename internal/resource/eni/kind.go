package eni

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/osnet"
	"github.com/vipd/vipd/internal/resource"
)

// Kind describes eni to the registry: acquired after the volume and
// before the addresses, which may live on the moved interface. It sets up
// policy routing on the owner's host (unless host: none), so only a node
// drives it.
func Kind() resource.Kind {
	return resource.Kind{
		Name:      config.KindENI,
		Order:     200,
		Side:      resource.Host,
		Policy:    policy,
		Preflight: preflight,
		New: func(r config.Resource, env resource.Env) (resource.Resource, error) {
			opts := Options{CallTimeout: env.CallTimeout, IMDS: env.Clients.IMDS, Host: osnet.NoPolicy{}, Fencer: env.Fencer}
			if r.ENI.Host != config.HostNone {
				opts.Host = osnet.NewPolicyRouting()
			}
			return New(*r.ENI, env.Clients.EC2, opts, env.Log), nil
		},
	}
}
