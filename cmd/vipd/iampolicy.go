package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/resource/kinds"
)

func newIAMPolicyCmd() *cobra.Command {
	var path string
	var o iampolicy.Options
	var trust bool
	var principal string
	cmd := &cobra.Command{
		Use:   "iam-policy --config FILE",
		Short: "Print the least-privilege IAM policy for a configuration",
		Long: `Print the IAM policy (JSON) that a node with this configuration needs, to
attach to the nodes' instance role:

  ec2:Describe... (what the resources read)       on "*" (EC2 supports no
        resource-level permissions for Describe calls)
  ec2:CreateRoute, ec2:ReplaceRoute               on the configured route tables
  ec2:DeleteRoute                                 on the tables of overlay-routes
                                                  with delete-on-release
  ec2:ModifyInstanceAttribute                     on the nodes' instances, when
                                                  disable-source-dest-check is set
  ec2:Assign/UnassignPrivateIpAddresses           secondary-ip, on network interfaces
  ec2:Assign/UnassignIpv6Addresses                secondary-ip with IPv6 addresses, on
                                                  network interfaces
  ec2:Associate/DisassociateAddress               elastic-ip, on the allocation
  ec2:Attach/DetachNetworkInterface               eni, on the interface
  ec2:Attach/DetachVolume                         ebs-volume, on the volume
  route53:ChangeResourceRecordSets, ...           route53, on the hosted zone
  dynamodb:GetItem, PutItem, UpdateItem,          election.backend dynamodb, on
           DescribeTable                          the lease table

Without --region and --account the ARNs match any ("*"); route tables are still
scoped by id. For route-tables: all, --vpc limits the route writes to that VPC's
tables (condition key ec2:Vpc). Without --instance, ModifyInstanceAttribute is
allowed on every instance of the account: pass the nodes' instance ids.

Calls made with an assumed role (aws.assume-role, a resource's assume-role,
election.dynamodb.assume-role; docs/cross-account.md) need their statements
in that role, not in the node's: the node's policy then holds only the calls
made with the instance's own credentials, and sts:AssumeRole on every role.
--role ARN prints the permission policy of one role; --trust --role ARN
--principal NODE-ROLE-ARN prints the trust policy that lets the nodes' role
assume it (with sts:ExternalId when the configuration passes an external ID).

A witness needs no policy: it makes no AWS calls.`,
		Example: `  vipd iam-policy --config /etc/vipd/vipd.yaml --region us-east-1 \
      --account 123456789012 --instance i-0a1b2c3d4e5f60001,i-0a1b2c3d4e5f60002 \
      > vipd-policy.json
  aws iam put-role-policy --role-name vipd --policy-name vipd \
      --policy-document file://vipd-policy.json
  # a shared VPC's route tables, written with a role of the owner account:
  vipd iam-policy --config /etc/vipd/vipd.yaml \
      --role arn:aws:iam::111122223333:role/vipd-routes > routes-policy.json
  vipd iam-policy --config /etc/vipd/vipd.yaml --trust \
      --role arn:aws:iam::111122223333:role/vipd-routes \
      --principal arn:aws:iam::444455556666:role/vipd > routes-trust.json`,
		Args: cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return cli.Usage(errors.New("iam-policy: --config is required"))
			}
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			var p iampolicy.Policy
			if trust {
				if o.Role == "" || principal == "" {
					return cli.Usage(errors.New("iam-policy: --trust needs --role and --principal"))
				}
				p, err = iampolicy.Trust(cfg, o.Role, principal)
			} else {
				p, err = iampolicy.For(cfg, o, kinds.Registry())
			}
			if err != nil {
				return fmt.Errorf("iam-policy: %w", err)
			}
			if roles := iampolicy.Roles(cfg); o.Role == "" && len(roles) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "iam-policy: this is the nodes' own policy; some calls are made with %s: print each role's policy with --role ARN and its trust policy with --trust\n",
					strings.Join(roles, ", "))
			}
			b, err := p.JSON()
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "configuration file (YAML)")
	cmd.Flags().StringVar(&o.Partition, "partition", "aws", "ARN partition (aws, aws-cn, aws-us-gov)")
	cmd.Flags().StringVar(&o.Region, "region", "", "region of the resources (default any)")
	cmd.Flags().StringVar(&o.Account, "account", "", "AWS account id of the resources (default any)")
	cmd.Flags().StringSliceVar(&o.Instances, "instance", nil, "instance ids of the nodes (repeat or comma-separate)")
	cmd.Flags().StringVar(&o.VPC, "vpc", "", "VPC id, to scope route-tables: all")
	cmd.Flags().StringVar(&o.Role, "role", "", "print the policy of this assumed role (an ARN the configuration names) instead of the nodes' own")
	cmd.Flags().BoolVar(&trust, "trust", false, "with --role and --principal: print the role's trust policy")
	cmd.Flags().StringVar(&principal, "principal", "", "with --trust: the ARN of the nodes' instance role, which assumes --role")
	return cmd
}
