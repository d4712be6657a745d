// Command vpcsim runs the AWS VPC simulator standalone: EC2's Query API and
// the /_sim/ control endpoint on one address, and an IMDSv2 endpoint per
// simulated instance, so that the AWS CLI, the SDKs and vipd processes can
// be pointed at it.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/logging"
	"github.com/vipd/vipd/internal/version"
	"github.com/vipd/vipd/internal/vpcsim"
)

func main() { cli.Main(newRootCmd()) }

func newRootCmd() *cobra.Command {
	var (
		worldPath string
		listen    string
		adminKey  string
		adminSec  string
		verbose   bool
		timing    string
		throttle  bool
		defVPC    bool
		anyKey    bool
	)
	cmd := &cobra.Command{
		Use:   "vpcsim [--world FILE] [--listen HOST:PORT]",
		Short: "Simulate an AWS VPC: EC2 Query API, IMDSv2 per instance, control endpoint",
		Long: `vpcsim serves EC2's Query API (route tables, instances, network interfaces,
VPCs, subnets, Elastic IPs, volumes) for the account described by a world file,
or an empty one to build with the AWS CLI, so that the AWS CLI and SDKs work
against it with an endpoint override. Route 53, DynamoDB and SSM Parameter
Store are served on the same address. Each simulated instance
gets its own IMDSv2 endpoint on a loopback port, serving its role credentials;
calls signed with them are checked against the role's allow list. The admin key
may do anything. /_sim/ on the same address resets, loads worlds, injects
faults and returns the call history (JSON).

--timing picks what time the simulated AWS takes. realistic (the default)
models what failover code meets on AWS, all long-tailed: EC2 Describe calls
around 50 ms and mutating calls around 120 ms; ENI attach about 2 s and
detach about 3 s; volume attach about 3 s and detach about 5 s; instance
stop about 20 s and start about 15 s; Route 53 changes PENDING for about
30 s (at most 60 s, as AWS documents) before GetChange says INSYNC. none
answers every call at once and completes every transition and change
before the next call, as unit tests want. --throttle adds EC2's per-action
request limits (RequestLimitExceeded).

It prints the EC2 endpoint and each instance's IMDS endpoint on stdout and runs
until interrupted (SIGINT or SIGTERM). Nothing outside the process changes.

` + cli.ExitStatusHelp,
		Example: `  vpcsim --world examples/world.yaml --listen 127.0.0.1:4566 --timing none
  AWS_ACCESS_KEY_ID=vpcsim-admin AWS_SECRET_ACCESS_KEY=vpcsim-admin-secret \
  AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    aws --endpoint-url http://127.0.0.1:4566 ec2 describe-route-tables`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected arguments %q", args)
			}
			return nil
		},
		Version:       version.Get().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			tm, err := vpcsim.TimingProfile(timing)
			if err != nil {
				return cli.Usage(err)
			}
			log := logging.New(cmd.ErrOrStderr(), logging.Text, level)
			return run(cmd.Context(), cmd.OutOrStdout(), log, worldPath, listen, defVPC, vpcsim.Options{
				AdminAccessKeyID: adminKey, AdminSecretAccessKey: adminSec, Logger: log,
				Timing: tm, Throttle: throttle, AnyAccessKey: anyKey,
			})
		},
	}
	cmd.SetVersionTemplate("vpcsim {{.Version}}\n")
	f := cmd.Flags()
	f.StringVar(&worldPath, "world", "", "world file (YAML) to simulate; without it the account starts empty")
	f.BoolVar(&defVPC, "default-vpc", false, "add the default VPC a new AWS account has (172.31.0.0/16, a subnet per zone)")
	f.BoolVar(&anyKey, "any-access-key", false, "let unknown access keys act as the admin, as moto's server mode does")
	f.StringVar(&listen, "listen", "127.0.0.1:4566", "address for the EC2 API and /_sim/ (port 0 picks one)")
	f.StringVar(&adminKey, "admin-access-key", "vpcsim-admin", "access key ID that may do anything")
	f.StringVar(&adminSec, "admin-secret-key", "vpcsim-admin-secret", "secret access key of the admin key")
	f.BoolVar(&verbose, "verbose", false, "log every API call on stderr")
	f.StringVar(&timing, "timing", "realistic", "realistic (AWS-like call latency, seconds for attach/detach, ~30 s Route 53 propagation) or none (everything at once)")
	f.BoolVar(&throttle, "throttle", false, "throttle per action with EC2's token buckets (RequestLimitExceeded)")
	cmd.AddCommand(cli.ManCmd())
	cli.Setup(cmd)
	return cmd
}

func run(ctx context.Context, out io.Writer, log *slog.Logger, worldPath, listen string, defVPC bool, opts vpcsim.Options) error {
	w := &vpcsim.World{}
	if worldPath != "" {
		var err error
		if w, err = vpcsim.LoadWorld(worldPath); err != nil {
			return err
		}
	}
	w.DefaultVPC = w.DefaultVPC || defVPC
	srv, err := vpcsim.New(w, opts)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx, listen); err != nil {
		return err
	}
	fmt.Fprintf(out, "ec2 %s\n", srv.URL())
	for _, in := range srv.Snapshot().Instances {
		fmt.Fprintf(out, "imds %s %s %s\n", in.ID, in.Name, in.IMDSURL)
	}
	log.Info("vpcsim serving", "world", worldPath, "ec2", srv.URL())
	<-ctx.Done()
	log.Info("vpcsim stopping", "reason", context.Cause(ctx))
	return srv.Close()
}
