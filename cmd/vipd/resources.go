package main

import (
	"fmt"
	"log/slog"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/node"
	"github.com/vipd/vipd/internal/resource/overlayroute"
)

// buildResources turns the configured resources into the node's resources,
// in the order the node acquires them.
func buildResources(cfg *config.Config, clients *awsapi.Clients, log *slog.Logger) ([]node.Resource, error) {
	var out []node.Resource
	for i, r := range cfg.Resources {
		switch {
		case r.OverlayRoute != nil:
			out = append(out, overlayroute.New(*r.OverlayRoute, clients.EC2,
				overlayroute.Options{CallTimeout: cfg.AWS.CallTimeout}, log))
		default:
			return nil, fmt.Errorf("resources[%d]: no resource kind set", i)
		}
	}
	return out, nil
}
