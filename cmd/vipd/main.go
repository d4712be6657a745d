// Command vipd keeps a service address on exactly one healthy EC2 instance.
// See `vipd --help` and README.md.
package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/version"
)

func main() { cli.Main(newRootCmd()) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "vipd",
		Short: "Keep a virtual IP on exactly one healthy EC2 instance",
		Long: `vipd keeps a service address (a "virtual IP") on exactly one healthy EC2
instance of a group and moves it — route table entries, and the local address
on the host — within seconds when that instance fails or an operator asks.

Run "vipd demo" to watch a failover on a simulated VPC, without AWS or root.

` + cli.ExitStatusHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version is vipd's own flag, not cobra's: cobra prints its
		// version through text/template, and a reachable template
		// execution makes the linker keep every exported method in the
		// binary (reflect's MethodByName), the EC2 client's ~700
		// operations among them: 40 MB of code, which the daemon's
		// resident size paid for (issue 17).
		RunE: func(cmd *cobra.Command, _ []string) error {
			if v, _ := cmd.Flags().GetBool("version"); v {
				fmt.Fprintf(cmd.OutOrStdout(), "vipd %s\n", version.Get())
				return nil
			}
			return cmd.Help()
		},
	}
	root.Flags().BoolP("version", "v", false, "version for vipd")
	socket := root.PersistentFlags().String("socket", "/run/vipd/vipd.sock", "admin socket of the local daemon")
	root.AddCommand(
		newRunCmd(),
		newStatusCmd(socket),
		newSwitchoverCmd(socket),
		newStandbyCmd(socket),
		newVersionCmd(),
		newDemoCmd(),
		newControllerCmd(),
		newCheckCmd(),
		newIAMPolicyCmd(),
		cli.ManCmd(),
	)
	cli.Setup(root)
	return root
}
