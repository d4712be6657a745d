package controller_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/controller"
)

func netipPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// childEnv names the configuration file of a controller process: the test
// binary re-executes itself as `vipd controller` would run, so that a test
// can kill -9 a real controller process.
const childEnv = "VIPD_TEST_CONTROLLER_CONFIG"

// childMain runs a controller process when the test binary is re-executed
// as one, and exits; it returns false otherwise.
func childMain() bool {
	path := os.Getenv(childEnv)
	if path == "" {
		return false
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := runChild(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "controller:", err)
		os.Exit(1)
	}
	os.Exit(0)
	return true
}

func runChild(ctx context.Context, path string) error {
	cfg, err := config.LoadController(path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", cfg.Name)
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := controller.Build(bctx, cfg, controller.BuildOptions{Log: log})
	cancel()
	if err != nil {
		return err
	}
	sctx, stopAdmin := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan struct{})
	go func() { defer close(served); _ = admin.Serve(sctx, cfg.API.Socket, c, log) }()
	err = c.Run(ctx)
	stopAdmin()
	<-served
	return err
}
