package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/preflight"
)

// errCheckFailed is returned when a check blocks a failover; the results
// already said which, so main prints only this line.
var errCheckFailed = errors.New("check: a failover would not work on this host (see ✗ above)")

func newCheckCmd() *cobra.Command {
	var path string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check --config FILE",
		Short: "Preflight: prove this host can take the address over",
		Long: `Check everything a failover will need, on the host that will run vipd, and
print one line per check: ✓ pass, ! warning, ✗ blocks a failover (with the
fix under it), - not applicable.

  config          the configuration is valid
  imds            IMDSv2 answers: which instance, zone and VPC this is
  credentials     AWS credentials are found, from where, and EC2 accepts
                  them (a DryRun call: rejected keys, a wrong secret or an
                  expired token fail here, with the fix)
  route-table     every named table exists in this instance's VPC (or the
                  VPC has tables, for route-tables: all)
  overlay cidr    the overlay address lies outside the VPC's CIDR blocks
                  (AWS refuses a route inside them unless it is a whole
                  subnet's block)
  source/dest     the instance's source/dest check is off, or vipd turns it off
  eni, ebs-volume the interface or volume exists in this instance's zone
  elastic-ip      the allocation exists
  secondary-ip    the addresses lie in this instance's subnet (an IPv6 one in
                  the subnet's IPv6 block)
  assume-role     every role an assume-role names (a resource's,
                  aws.assume-role, election.dynamodb.assume-role) is
                  assumed once, through the credentials cache the daemon
                  uses; a refusal names the role, its resources, the line
                  and the AWS code (AccessDenied: the node's role lacks
                  sts:AssumeRole, or the role's trust policy does not
                  trust it; STS does not say which, both fixes are printed)
  permission      IAM allows every write vipd makes, with the credentials
                  the write will carry (the instance's or the role's; a
                  denial names the role) (CreateRoute, ReplaceRoute,
                  DeleteRoute, ModifyInstanceAttribute, Attach/Detach...,
                  AssociateAddress...), proven with DryRun: nothing is changed
                  (Assign/UnassignPrivateIpAddresses, Assign/UnassignIpv6Addresses
                  and Route 53 changes have no DryRun: they are listed as not
                  provable)
  route53         the hosted zone exists and the record is readable
  lease table     election.backend dynamodb: the table exists with the right
                  key, the lease item is readable (who holds it), and
                  PutItem/UpdateItem are allowed, proven with writes whose
                  condition cannot hold: nothing is changed
  cluster tls     the certificate loads, is valid and names this node
  peer, witness   a vipd member answers the cluster's handshake on every
                  member's cluster port (with cluster-tls: over a mutual
                  TLS handshake both sides accept); an open port where
                  something else listens fails; not with the dynamodb or
                  etcd backend, whose nodes never connect
  local interface the interface the address is bound on exists
  notify          every notify script exists and is executable

A witness is checked for its configuration and its peers only.

Exit status 0 when nothing blocks a failover, 1 otherwise, 2 on usage errors.`,
		Example: "  vipd check --config /etc/vipd/vipd.yaml",
		Args:    cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return cli.Usage(errors.New("check: --config is required"))
			}
			out := cmd.OutOrStdout()
			cfg, warnings, err := config.Lint(path)
			if err != nil {
				_ = preflight.Write(out, []preflight.Result{{Check: "config", Status: preflight.Fail,
					Detail: err.Error(), Fix: "correct the configuration (vipd run --config " + path + " --validate)"}})
				return errCheckFailed
			}
			rs := preflight.Run(cmd.Context(), cfg, checkDeps(cfg, timeout))
			rs = slices.Insert(rs, min(1, len(rs)), notifyResults(cfg.Notify, warnings)...)
			if err := preflight.Write(out, rs); err != nil {
				return fmt.Errorf("check: write results: %w", err)
			}
			if preflight.Blocking(rs) {
				return errCheckFailed
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file (YAML)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "bound on each check")
	return cmd
}

// checkDeps connects the checks to the configured IMDS and AWS endpoints.
func checkDeps(cfg *config.Config, timeout time.Duration) preflight.Deps {
	return preflight.Deps{
		IMDS: awsapi.NewIMDS(cfg.AWS.IMDSEndpoint),
		Connect: func(ctx context.Context, region string) (preflight.AWS, error) {
			c, err := awsapi.Load(ctx, awsapi.Options{
				Region: region, Endpoint: cfg.AWS.Endpoint, IMDSEndpoint: cfg.AWS.IMDSEndpoint,
				Endpoints: awsapi.Endpoints(cfg.AWS.Endpoints),
				// A preflight reports what it sees; it does not wait out
				// throttling as a failover must.
				MaxAttempts: 2, ThrottledAttempts: 2,
			})
			if err != nil {
				return preflight.AWS{}, err
			}
			// The roles' clients come from c.Role, the credentials cache
			// the daemon's resources and lease use.
			return preflight.FromClients(c), nil
		},
		Timeout: timeout,
	}
}

// notifyResults reports the notify scripts: one failure per script this host
// cannot run (warnings from config.Lint), else one pass.
func notifyResults(n config.Notify, warnings []error) []preflight.Result {
	configured := 0
	for _, s := range []string{n.Master, n.Backup, n.Fault, n.Stop, n.Any} {
		if s != "" {
			configured++
		}
	}
	if configured == 0 {
		return []preflight.Result{{Check: "notify", Status: preflight.Skip, Detail: "no notify scripts configured"}}
	}
	if len(warnings) == 0 {
		return []preflight.Result{{Check: "notify", Status: preflight.Pass,
			Detail: fmt.Sprintf("%d script(s) exist and are executable", configured)}}
	}
	out := make([]preflight.Result, len(warnings))
	for i, w := range warnings {
		out[i] = preflight.Result{Check: "notify", Status: preflight.Fail, Detail: w.Error(),
			Fix: "install the script and make it executable by the vipd user (chmod 0755), or remove the line"}
	}
	return out
}
