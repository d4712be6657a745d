// Command vipd keeps a service address on exactly one healthy EC2 instance.
// See `vipd --help` and README.md.
package main

import (
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
		Version:       version.Get().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("vipd {{.Version}}\n")
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
