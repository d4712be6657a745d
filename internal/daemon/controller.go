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

// RunController builds the controller from cfg and runs it until ctx is
// done, with the admin socket and metrics listener of the agents. It
// returns after every goroutine it started has exited.
func RunController(ctx context.Context, cfg *config.Controller, logw io.Writer) error {
	log := newLogger(cfg.Log, logw).With("cluster", cfg.Cluster)
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
	c, err := controller.Build(bctx, cfg, controller.BuildOptions{Name: name, Registerer: reg, Log: log})
	cancel()
	if err != nil {
		return err
	}

	srv, err := serve(ctx, cfg.API, c, reg, log)
	if err != nil {
		return err
	}
	defer srv.stop()
	log.Info("vipd controller started", "node", name, "reason", "config "+cfg.Source)
	return c.Run(ctx)
}
