package ebsvolume

import (
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/resource"
)

// Kind describes ebs-volume to the registry: acquired first, so that the
// data is in place before anything sends traffic to the owner, and
// released last. It mounts the volume on the owner's host (unless host:
// none), so only a node drives it.
func Kind() resource.Kind {
	return resource.Kind{
		Name:      config.KindEBSVolume,
		Order:     100,
		Side:      resource.Host,
		Policy:    policy,
		Preflight: preflight,
		New: func(r config.Resource, env resource.Env) (resource.Resource, error) {
			opts := Options{CallTimeout: env.CallTimeout, Device: NoDevice{}, Fencer: env.Fencer}
			if r.EBSVolume.Host != config.HostNone {
				opts.Device = NewHost(*r.EBSVolume)
			}
			return New(*r.EBSVolume, env.Clients.EC2, opts, env.Log), nil
		},
	}
}
