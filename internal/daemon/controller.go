package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/controller"
)

// RunController wires the controller from cfg and runs it until ctx is
// done, with the admin socket and metrics listener of the agents.
func RunController(ctx context.Context, cfg *config.Controller, logw interface{ Write([]byte) (int, error) }) error {
	log := newLogger(cfg.Log, logw).With("cluster", cfg.Cluster)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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

	var wg sync.WaitGroup
	defer wg.Wait()
	sctx, stopServers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServers()
	if cfg.API.Socket != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.API.Socket), 0o755); err != nil {
			return fmt.Errorf("create admin socket directory: %w", err)
		}
		wg.Go(func() {
			if err := admin.Serve(sctx, cfg.API.Socket, c, log); err != nil {
				log.Error("admin socket failed", "err", err)
			}
		})
	}
	if cfg.API.Metrics != "" {
		ln, err := net.Listen("tcp", cfg.API.Metrics)
		if err != nil {
			return fmt.Errorf("listen for metrics on %s: %w", cfg.API.Metrics, err)
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		wg.Go(func() { _ = srv.Serve(ln) })
		wg.Go(func() {
			<-sctx.Done()
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(c)
		})
	}
	log.Info("vipd controller started", "node", name, "reason", "config "+cfg.Source)
	err = c.Run(ctx)
	stopServers()
	return err
}
