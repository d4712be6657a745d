package main

import (
	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/daemon"
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

One controller may serve many clusters: list them under clusters: (each
entry a cluster's candidates, health, resources and owner-parameter). It
then reads every cluster's candidates with one DescribeInstances a pass,
queues all writes so that each moving cluster's first route goes before
the other tables of any (write-concurrency in flight), and gives each
cluster its own lease item, owner record and admin socket
(api.socket with {cluster}).

Several controllers may run: they share a DynamoDB lease (lease.table, one
item per cluster) and only its holder acts. IAM: ec2:DescribeInstances and the resources' actions,
ssm:GetParameter and ssm:PutParameter on the owner parameter,
dynamodb:GetItem, PutItem and UpdateItem on the lease table. The same code
runs as an AWS Lambda function (vipd-lambda; see docs/controller.md).

--validate checks the configuration and exits: 0 when valid, 1 with every
problem listed with its file:line:column otherwise.`,
		Example: "  vipd controller --config /etc/vipd/controller.yaml\n  vipd controller --config controller.yaml --validate",
		Args:    cobra.ExactArgs(0),
		RunE:    runWithConfig("controller", &path, &validate, config.LintController, daemon.RunController),
	}
	cmd.Flags().StringVar(&path, "config", "", "controller configuration file (YAML)")
	cmd.Flags().BoolVar(&validate, "validate", false, "only check the configuration")
	return cmd
}
