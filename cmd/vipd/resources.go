package main

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/node"
	"github.com/vipd/vipd/internal/osnet"
	"github.com/vipd/vipd/internal/resource/dnsrecord"
	"github.com/vipd/vipd/internal/resource/ebsvolume"
	"github.com/vipd/vipd/internal/resource/elasticip"
	"github.com/vipd/vipd/internal/resource/eni"
	"github.com/vipd/vipd/internal/resource/overlayroute"
	"github.com/vipd/vipd/internal/resource/secondaryip"
)

// buildResources turns the configured resources into the node's resources,
// in the order the node acquires them: design.md's kind order
// (config.KindOrder: ebs-volume, eni, secondary-ip, elastic-ip,
// overlay-route, route53), and the config's order within a kind. The node
// releases in reverse.
func buildResources(cfg *config.Config, clients *awsapi.Clients, log *slog.Logger) ([]node.Resource, error) {
	rs := slices.Clone(cfg.Resources)
	slices.SortStableFunc(rs, func(a, b config.Resource) int {
		return slices.Index(config.KindOrder, a.Kind()) - slices.Index(config.KindOrder, b.Kind())
	})
	timeout := cfg.AWS.CallTimeout
	var out []node.Resource
	for i, r := range rs {
		switch {
		case r.OverlayRoute != nil:
			out = append(out, overlayroute.New(*r.OverlayRoute, clients.EC2,
				overlayroute.Options{CallTimeout: timeout}, log))
		case r.SecondaryIP != nil:
			opts := secondaryip.Options{CallTimeout: timeout}
			if iface := cfg.LocalAddress.Interface; iface != config.InterfaceNone {
				// local-address binds one address; this resource binds the
				// others it assigns, on the same interface.
				opts.Bind = func(primary netip.Addr, p netip.Prefix) secondaryip.Binder {
					return osnet.NewBinder(iface, primary, p)
				}
				if cfg.LocalAddress.CIDR.IsValid() {
					opts.Skip = []netip.Addr{cfg.LocalAddress.CIDR.Addr()}
				}
			}
			out = append(out, secondaryip.New(*r.SecondaryIP, clients.EC2, opts, log))
		case r.ElasticIP != nil:
			out = append(out, elasticip.New(*r.ElasticIP, clients.EC2,
				elasticip.Options{CallTimeout: timeout}, log))
		case r.ENI != nil:
			opts := eni.Options{CallTimeout: timeout, IMDS: clients.IMDS, Host: osnet.NoPolicy{}}
			if r.ENI.Host != config.HostNone {
				opts.Host = osnet.NewPolicyRouting()
			}
			out = append(out, eni.New(*r.ENI, clients.EC2, opts, log))
		case r.Route53 != nil:
			out = append(out, dnsrecord.New(*r.Route53, clients.Route53, clients.EC2,
				dnsrecord.Options{CallTimeout: timeout}, log))
		case r.EBSVolume != nil:
			opts := ebsvolume.Options{CallTimeout: timeout, Device: ebsvolume.NoDevice{}}
			if r.EBSVolume.Host != config.HostNone {
				opts.Device = ebsvolume.NewHost(*r.EBSVolume)
			}
			out = append(out, ebsvolume.New(*r.EBSVolume, clients.EC2, opts, log))
		default:
			return nil, fmt.Errorf("resources[%d]: no resource kind set", i)
		}
	}
	return out, nil
}
