package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/daemon"
)

func newRunCmd() *cobra.Command {
	var path string
	var validate bool
	cmd := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run the daemon (a node, or a witness)",
		Long: `Run vipd as configured: join the cluster's election, run the health checks,
and while this node holds the lease keep every resource pointing at it —
route table entries via the EC2 API (ReplaceRoute/CreateRoute, and
ModifyInstanceAttribute for the source/dest check) and the local address via
netlink (needs CAP_NET_ADMIN unless local-address.interface is none).

A witness (node.witness: true) only votes; it needs no AWS access.

--validate checks the configuration and exits: 0 when valid, 1 with every
problem listed with its file:line:column otherwise. A notify script that
does not exist or is not executable on this host is a warning on stderr
naming its line (vipd check fails on it).`,
		Example: "  vipd run --config /etc/vipd/vipd.yaml\n  vipd run --config vipd.yaml --validate",
		Args:    cobra.ExactArgs(0),
		RunE:    runWithConfig("run", &path, &validate, config.Lint, daemon.Run),
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file (YAML)")
	cmd.Flags().BoolVar(&validate, "validate", false, "only check the configuration")
	return cmd
}

// runWithConfig is the RunE of a command that loads its configuration from
// --config and then either only reports it valid (--validate) or runs with
// it: vipd run and vipd controller.
//
// Warnings (a notify script this host cannot run) do not stop either; they
// go to stderr, each with its line, as keepalived warns when it loads.
func runWithConfig[T any](name string, path *string, validate *bool, load func(string) (T, []error, error),
	run func(context.Context, T, io.Writer) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if *path == "" {
			return cli.Usage(fmt.Errorf("%s: --config is required", name))
		}
		cfg, warnings, err := load(*path)
		if err != nil {
			return err
		}
		for _, w := range warnings {
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: %v\n", w)
		}
		if *validate {
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid\n", *path)
			return nil
		}
		return run(cmd.Context(), cfg, cmd.ErrOrStderr())
	}
}
