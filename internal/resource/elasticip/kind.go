package elasticip

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/resource"
)

// Kind describes elastic-ip to the registry: acquired after secondary-ip,
// whose address it may associate with, and before overlay-route; it
// changes only the association in AWS.
func Kind() resource.Kind {
	return resource.Kind{
		Name:      config.KindElasticIP,
		Order:     400,
		Side:      resource.Cloud,
		Policy:    policy,
		Preflight: preflight,
		New: func(r config.Resource, env resource.Env) (resource.Resource, error) {
			return New(*r.ElasticIP, env.Clients.EC2, Options{CallTimeout: env.CallTimeout}, env.Log), nil
		},
	}
}
