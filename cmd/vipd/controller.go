package main

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
	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/controller"
)

func newControllerCmd() *cobra.Command {
	var path string
	var validate bool
	cmd := &cobra.Command{
		Use:   "controller --config FILE",
		Short: "Run the agentless controller: check candidates from outside, move cloud-side resources",
		Long: `Run vipd as a controller outside the candidate instances: it health-checks
each candidate against its private address, reads the instances' state, and
when the owner fails moves the cloud-side resources (route table entries,
secondary IPs, Elastic IPs) to the most preferred healthy candidate, then
records the owner in an SSM parameter ("<instance-id> <token>") and runs the
notify scripts. Nothing is installed on the candidates; they must bind the
service address themselves.

Several controllers may run: they share a DynamoDB lease (lease.table) and
only its holder acts. IAM: ec2:DescribeInstances and the resources' actions,
ssm:GetParameter and ssm:PutParameter on the owner parameter,
dynamodb:GetItem, PutItem and UpdateItem on the lease table. The same code
runs as an AWS Lambda function (vipd-lambda; see docs/controller.md).

--validate checks the configuration and exits: 0 when valid, 1 with every
problem listed with its file:line:column otherwise.`,
		Example: "  vipd controller --config /etc/vipd/controller.yaml\n  vipd controller --config controller.yaml --validate",
		Args:    cobra.ExactArgs(0),
		RunE:    runWithConfig("controller", &path, &validate, config.LintController, runController),
	}
	cmd.Flags().StringVar(&path, "config", "", "controller configuration file (YAML)")
	cmd.Flags().BoolVar(&validate, "validate", false, "only check the configuration")
	return cmd
}

// runController wires the controller from cfg and runs it until ctx is
// done, with the admin socket and metrics listener of the agents.
func runController(ctx context.Context, cfg *config.Controller, logw interface{ Write([]byte) (int, error) }) error {
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
