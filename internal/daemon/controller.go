package daemon

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/controller"
)

// RunController builds the controllers of every cluster cfg serves (one
// fleet, internal/controller) and runs them until ctx is done, each with
// an admin socket of its own (api.socket, per cluster with clusters) and
// one metrics listener for all. It returns after every goroutine it
// started has exited.
func RunController(ctx context.Context, cfg *config.Controller, logw io.Writer) error {
	log := newLogger(cfg.Log, logw)
	if len(cfg.Clusters) == 0 {
		log = log.With("cluster", cfg.Cluster)
	}
	reg := newRegistry()
	name := cfg.Name
	if name == "" {
		host, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("name the controller: set name in the configuration: %w", err)
		}
		name = host
	}
	bctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	f, err := controller.BuildFleet(bctx, cfg, controller.BuildOptions{Name: name, Registerer: reg, Log: log})
	cancel()
	if err != nil {
		return err
	}
	per := cfg.PerCluster()
	for i, c := range f.Controllers() {
		api := config.API{Socket: per[i].API.Socket}
		if i == 0 {
			api.Metrics = cfg.API.Metrics
		}
		srv, err := serve(ctx, api, c, reg, log.With("cluster", per[i].Cluster))
		if err != nil {
			return err
		}
		defer srv.stop()
	}
	log.Info("vipd controller started", "node", name, "reason", fmt.Sprintf("config %s, %d clusters", cfg.Source, len(per)))
	return f.Run(ctx)
}
