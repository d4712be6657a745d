package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/version"
)

func newStatusCmd(socket *string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show this node's role, the lease holder, resources and recent transitions",
		Long: `Show the local daemon's view: its role (primary, backup, …), which node holds
the lease and under which fencing token, the health checks, each resource's
state as last read from AWS, and the last transitions with their timings.

--json prints the same as one JSON object; its fields may grow but never
change meaning.`,
		Example: "  vipd status\n  vipd status --json --socket /run/vipd/vipd.sock",
		Args:    cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
			defer cancel()
			st, err := admin.NewClient(*socket).Status(ctx)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printStatus(w io.Writer, st admin.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "node\t%s (cluster %s)\n", st.Node, st.Cluster)
	fmt.Fprintf(tw, "role\t%s since %s\n", st.Role, st.Since.Format(time.RFC3339))
	lease := fmt.Sprintf("holder %s, token %d", orNone(st.Holder), st.Token)
	if st.LeaseHeld {
		lease += ", held here, valid for " + st.LeaseValid
	}
	fmt.Fprintf(tw, "lease\t%s\n", lease)
	fmt.Fprintf(tw, "healthy\t%v\n", st.Healthy)
	if st.Maintenance {
		fmt.Fprintf(tw, "maintenance\ton\n")
	}
	for _, c := range st.Health {
		state := "pass"
		if !c.Passing {
			state = "FAIL " + c.LastError
		}
		fmt.Fprintf(tw, "check %s\t%s\n", c.Name, state)
	}
	for _, r := range st.Resources {
		line := fmt.Sprintf("%s, in sync %v", r.State, r.InSync)
		if len(r.Drift) > 0 {
			line += ", drift: " + strings.Join(r.Drift, "; ")
		}
		if r.LastError != "" {
			line += ", error: " + r.LastError
		}
		fmt.Fprintf(tw, "%s\t%s\n", r.Name, line)
	}
	for _, p := range st.Peers {
		kind := "node"
		if p.Witness {
			kind = "witness"
		}
		fmt.Fprintf(tw, "peer %s\t%s %s reachable=%v eligible=%v\n", p.Name, kind, p.Address, p.Reachable, p.Eligible)
	}
	tw.Flush()
	if len(st.Transitions) > 0 {
		fmt.Fprintln(w, "\ntransitions:")
		for _, t := range st.Transitions {
			fmt.Fprintf(w, "  %s  %-11s → %-11s %-22s token %d (%.0f ms in %s)\n",
				t.At.Format("15:04:05.000"), t.From, t.To, t.Reason, t.Token, t.InPreviousMS, t.From)
			for _, s := range t.Steps {
				e := ""
				if s.Error != "" {
					e = "  error: " + s.Error
				}
				fmt.Fprintf(w, "      %-8s %-40s %7.1f ms%s\n", s.Op, s.Resource, s.DurationMS, e)
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func newSwitchoverCmd(socket *string) *cobra.Command {
	var to string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "switchover",
		Short: "Move the address to another node (planned)",
		Long: `Ask the cluster to move the lease, and with it every resource, to another
eligible node. The current primary releases its local address, the new holder
acquires under a higher fencing token. Works from any node. Typically well
under a second plus the AWS calls.`,
		Example: "  vipd switchover\n  vipd switchover --to node-b",
		Args:    cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			start := time.Now()
			if err := admin.NewClient(*socket).Switchover(ctx, to); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "switchover done in %s\n", time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "target node (default: the best other eligible node)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "give up after this long")
	return cmd
}

func newMaintenanceCmd(socket *string) *cobra.Command {
	return &cobra.Command{
		Use:   "maintenance on|off",
		Short: "Hold this node out of ownership, or let it back in",
		Long: `"maintenance on" makes this node ineligible: if it is primary it hands the
lease to an eligible peer and releases; it will not take the address until
"maintenance off".`,
		Example: "  vipd maintenance on\n  vipd maintenance off",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var on bool
			switch args[0] {
			case "on":
				on = true
			case "off":
			default:
				return cli.Usage(fmt.Errorf("maintenance: want on or off, got %q", args[0]))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
			defer cancel()
			return admin.NewClient(*socket).Maintenance(ctx, on)
		},
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, commit and Go version",
		Args:  cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "vipd %s\n", version.Get())
			return nil
		},
	}
}
