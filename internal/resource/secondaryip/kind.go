package secondaryip

import (
	"net/netip"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/osnet"
	"github.com/vipd/vipd/internal/resource"
)

// Kind describes secondary-ip to the registry: acquired after the volume
// and the interface, before elastic-ip (which may associate with one of
// these addresses). It changes only the ENI's addresses in AWS; on a node
// it also binds the addresses other than local-address's on the same
// interface, which a controller leaves to the candidates.
func Kind() resource.Kind {
	return resource.Kind{
		Name:      config.KindSecondaryIP,
		Order:     300,
		Side:      resource.Cloud,
		Policy:    policy,
		Preflight: preflight,
		New: func(r config.Resource, env resource.Env) (resource.Resource, error) {
			opts := Options{CallTimeout: env.CallTimeout}
			la := env.LocalAddress
			if iface := la.Interface; env.OnOwner && iface != "" && iface != config.InterfaceNone {
				// local-address binds one address; this resource binds the
				// others it assigns, on the same interface.
				opts.Bind = func(primary netip.Addr, p netip.Prefix) Binder {
					return osnet.NewBinder(iface, primary, p)
				}
				if la.CIDR.IsValid() {
					opts.Skip = []netip.Addr{la.CIDR.Addr()}
				}
			}
			return New(*r.SecondaryIP, env.Clients.EC2, opts, env.Log), nil
		},
	}
}
