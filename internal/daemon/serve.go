package daemon

import (
	"context"
	"fmt"
	"log/slog"
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
)

// newRegistry is the metrics registry of one daemon: the Go runtime's and
// the process's collectors, and what the node or controller registers.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// servers are the admin socket and metrics listener of a running daemon.
type servers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// serve starts the admin socket (api.Socket, when set) answering with h and
// the metrics listener (api.Metrics, when set) serving reg. They outlive
// ctx: a stopping node still answers `vipd status` while it releases, so
// they end only when stop is called. On an error nothing is left running.
//
// A failed admin socket is logged, not fatal: the node keeps the address
// where it should be whether or not an operator can ask it.
func serve(ctx context.Context, api config.API, h admin.Handler, reg prometheus.Gatherer, log *slog.Logger) (*servers, error) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &servers{cancel: cancel}
	if api.Socket != "" {
		if err := os.MkdirAll(filepath.Dir(api.Socket), 0o755); err != nil {
			cancel()
			return nil, fmt.Errorf("create admin socket directory: %w", err)
		}
		s.wg.Go(func() {
			if err := admin.Serve(sctx, api.Socket, h, log); err != nil {
				log.Error("admin socket failed", "err", err)
			}
		})
	}
	if api.Metrics != "" {
		ln, err := net.Listen("tcp", api.Metrics)
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("listen for metrics on %s: %w", api.Metrics, err)
		}
		srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
		s.wg.Go(func() { _ = srv.Serve(ln) })
		s.wg.Go(func() {
			<-sctx.Done()
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(c)
		})
	}
	return s, nil
}

// stop ends the servers and waits for them, in-flight requests included.
func (s *servers) stop() {
	s.cancel()
	s.wg.Wait()
}
