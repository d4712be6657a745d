package main

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/demo"
)

func newDemoCmd() *cobra.Command {
	var o demo.Options
	var scenario string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch a failover on a simulated VPC (no AWS account, no root)",
		Long: `Start vpcsim (a simulated two-AZ VPC that speaks the EC2 API), a witness and
two vipd nodes on loopback, each node in front of a tiny service that
answers with the node's name, and a client that connects to the overlay
address 192.168.100.10:5432 through the simulator's fabric every 50 ms.
Then break the primary and print a timeline: detection, the AWS calls
(each failed one, throttled or not, as it was retried), and when the
client is served again, with the failover cut into detection + AWS +
client parts that add up to it.

With --election dynamodb there is no witness: the two nodes share a lease
item in the simulator's DynamoDB, as two instances without a third host do.

Scenarios: kill (SIGKILL the primary), unhealthy (its service stops
answering), switchover (planned move), api-faults (EC2 throttles and
fails during the failover), spot (EC2 announces a Spot interruption of the
primary's instance; the node moves the address before EC2 stops it), or
all. Nothing outside loopback is touched;
every process and file is cleaned up on exit, Ctrl-C included.`,
		Example: "  vipd demo\n  vipd demo --scenario all --rounds 3\n  vipd demo --scenario kill --rounds 10 --json\n  vipd demo --election dynamodb --scenario kill --rounds 3 --json",
		Args:    cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if scenario == "all" {
				o.Scenarios = demo.Scenarios
			} else {
				o.Scenarios = strings.Split(scenario, ",")
			}
			if err := o.Validate(); err != nil {
				return cli.Usage(err)
			}
			o.Out, o.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
			rounds, err := demo.Run(cmd.Context(), o)
			if errors.Is(err, context.Canceled) && cmd.Context().Err() != nil {
				return errors.New("demo interrupted; its processes and files are removed")
			}
			if err != nil {
				return err
			}
			for _, r := range rounds {
				if r.Error != "" {
					return errors.New("demo: some rounds failed (see above)")
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&scenario, "scenario", demo.ScenarioKill, "kill, unhealthy, switchover, api-faults, spot, or all (comma-separated list allowed)")
	cmd.Flags().IntVar(&o.Rounds, "rounds", 1, "rounds per scenario")
	cmd.Flags().StringVar(&o.Latency, "latency", "none", "EC2 latency model: none or realistic")
	cmd.Flags().StringVar(&o.Election, "election", "raft", "election backend: raft (two nodes and a witness) or dynamodb (two nodes, the lease in simulated DynamoDB)")
	cmd.Flags().BoolVar(&o.Tuned, "tuned", false, "tighter timing (lease 1s, checks every 200ms) instead of the defaults")
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print one JSON object per round instead of the timeline")
	cmd.Flags().BoolVar(&o.KeepDir, "keep", false, "keep the working directory (configs and node logs)")
	return cmd
}
