// Command vipd keeps a service address on exactly one healthy EC2 instance.
// See `vipd --help` and README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/version"
)

// Exit codes: 1 runtime failure, 2 usage error.
const (
	exitRuntime = 1
	exitUsage   = 2
)

// usageError marks errors that are the caller's fault (flags, arguments).
type usageError struct{ error }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vipd:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(exitUsage)
		}
		os.Exit(exitRuntime)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vipd",
		Short: "Keep a virtual IP on exactly one healthy EC2 instance",
		Long: `vipd keeps a service address (a "virtual IP") on exactly one healthy EC2
instance of a group and moves it — route table entries, and the local address
on the host — within seconds when that instance fails or an operator asks.

Run "vipd demo" to watch a failover on a simulated VPC, without AWS or root.`,
		Version:       version.Get().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("vipd {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath())}
	})
	socket := root.PersistentFlags().String("socket", "/run/vipd/vipd.sock", "admin socket of the local daemon")
	root.AddCommand(
		newRunCmd(),
		newStatusCmd(socket),
		newSwitchoverCmd(socket),
		newMaintenanceCmd(socket),
		newVersionCmd(),
		newDemoCmd(),
		newControllerCmd(),
		newCheckCmd(),
		newIAMPolicyCmd(),
	)
	return root
}

// exactArgs is cobra.ExactArgs reporting a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
