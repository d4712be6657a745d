package dnsrecord

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/resource"
)

// Kind describes route53 to the registry: acquired last, after the local
// address, because a name should resolve to the owner only once the owner
// answers (and Route 53's INSYNC wait must never hold up the rest); it
// changes only the record.
func Kind() resource.Kind {
	return resource.Kind{
		Name:      config.KindRoute53,
		Order:     700,
		Side:      resource.Cloud,
		Policy:    policy,
		Preflight: preflight,
		New: func(r config.Resource, env resource.Env) (resource.Resource, error) {
			return New(*r.Route53, env.Clients.Route53, env.Clients.EC2, Options{CallTimeout: env.CallTimeout}, env.Log), nil
		},
	}
}
