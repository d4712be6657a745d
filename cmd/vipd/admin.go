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
	var asJSON, watch bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster: every member, quorum, the holder, resources, transitions",
		Long: `Show the cluster as the daemon on this host sees it, from any member (a
node or the witness): every member with its role, health, whether it could
take the address, standby, and when the raft leader last heard from it; the
quorum (members in contact, of how many, and how many a quorum needs); which
node holds the address under which fencing token and since when; then this
node's health checks, each resource's state as last read from AWS, and the
last transitions with their timings.

Reachability is the raft leader's view, which every member receives about
three times per heartbeat timeout: a member killed without warning shows as
down everywhere within one lease. A member with no leader shows what it
sees itself.

--json prints the same as one JSON object; its fields may grow but never
change meaning. --watch prints it again every --interval until interrupted.`,
		Example: "  vipd status\n  vipd status --watch\n  vipd status --json --socket /run/vipd/vipd.sock",
		Args:    cobra.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			show := func() error {
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
				printStatus(cmd.OutOrStdout(), st, time.Now())
				return nil
			}
			if !watch {
				return show()
			}
			if interval <= 0 {
				return cli.Usage(fmt.Errorf("status: --interval %s: must be positive", interval))
			}
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				if !asJSON {
					fmt.Fprintf(cmd.OutOrStdout(), "\n--- %s ---\n", time.Now().Format("15:04:05"))
				}
				if err := show(); err != nil {
					if cmd.Context().Err() != nil {
						return nil
					}
					// A daemon that restarts comes back: say so and go on.
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", time.Now().Format("15:04:05"), err)
				}
				select {
				case <-cmd.Context().Done():
					return nil
				case <-tick.C:
				}
			}
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&watch, "watch", false, "print the status again every --interval until interrupted")
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "refresh period of --watch")
	return cmd
}

// printStatus prints st for a person, cluster first, as crm_mon -1 does.
func printStatus(w io.Writer, st admin.Status, now time.Time) {
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return now.Sub(t).Round(100*time.Millisecond).String() + " ago"
	}
	fmt.Fprintf(w, "Cluster %s, seen from %s", st.Cluster, st.Node)
	switch {
	case st.Leader == st.Node:
		fmt.Fprintf(w, " (the leader)\n")
	case st.Leader != "":
		fmt.Fprintf(w, " (leader %s, view %s old)\n", st.Leader, time.Duration(st.ViewAgeMS*float64(time.Millisecond)).Round(time.Millisecond))
	default:
		fmt.Fprintf(w, " (no leader: its own view)\n")
	}
	if st.QuorumNeed > 0 {
		q := "OK"
		if !st.Quorum {
			q = "NO QUORUM: the address is not moved until a quorum is back"
		}
		fmt.Fprintf(w, "Quorum: %d/%d members in contact, %d needed: %s\n", st.QuorumHave, len(st.Members), st.QuorumNeed, q)
	}
	if st.Holder != "" {
		since := ""
		if !st.HolderSince.IsZero() {
			since = fmt.Sprintf(", since %s (%s)", st.HolderSince.Local().Format("2006-01-02 15:04:05"), ago(st.HolderSince))
		}
		down := ""
		if m, ok := memberNamed(st, st.Holder); ok && !m.Reachable {
			down = ": the holder is DOWN; the address moves once a quorum elects another node"
		}
		fmt.Fprintf(w, "Address: held by %s, token %d%s%s\n", st.Holder, st.Token, since, down)
	} else {
		fmt.Fprintf(w, "Address: NOT HELD (last token %d)\n", st.Token)
	}

	fmt.Fprintln(w, "\nMembers:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  \tNAME\tSTATE\tROLE\tHEALTH\tELIGIBLE\tSTANDBY\tLAST CONTACT")
	for _, m := range st.Members {
		mark := " "
		if m.Holder {
			mark = "*"
		}
		state := "up"
		if !m.Reachable {
			state = "DOWN"
		}
		role := m.Role
		if role == "" {
			role = "?"
		}
		health := "ok"
		switch {
		case m.Witness:
			health = "-"
		case m.Role == "":
			health = "?"
		case !m.Healthy:
			health = "FAILING"
		}
		eligible := yesNo(m.Eligible)
		if m.Witness {
			eligible = "-"
		}
		standby := "-"
		if m.Standby {
			standby = "STANDBY"
		}
		contact := ago(m.LastContact)
		if m.Self {
			contact = "(this member)"
		}
		if m.Problem != "" {
			contact += ": " + m.Problem
		}
		name := m.Name
		if m.Witness {
			name += " (witness)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, name, state, role, health, eligible, standby, contact)
	}
	tw.Flush()
	fmt.Fprintln(w, "  (* holds the address; ROLE is the member's own last report)")

	fmt.Fprintf(w, "\nThis node (%s):\n", st.Node)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  role\t%s since %s\n", st.Role, st.Since.Local().Format(time.RFC3339))
	lease := fmt.Sprintf("holder %s, token %d", orNone(st.Holder), st.Token)
	if st.LeaseHeld {
		lease += ", held here, valid for " + st.LeaseValid
	}
	fmt.Fprintf(tw, "  lease\t%s\n", lease)
	fmt.Fprintf(tw, "  healthy\t%v\n", st.Healthy)
	if st.Standby {
		fmt.Fprintf(tw, "  standby\ton (vipd standby off to let it hold again)\n")
	}
	for _, n := range st.Notices {
		what := n.Kind
		if n.Action != "" {
			what += " " + n.Action
		}
		if !n.At.IsZero() {
			what += " at " + n.At.Local().Format(time.RFC3339)
		}
		effect := "reported only (instance-notices)"
		if n.Move {
			effect = "kept out of ownership until it is gone"
		}
		fmt.Fprintf(tw, "  notice\t%s: %s\n", what, effect)
	}
	for _, c := range st.Health {
		state := "pass"
		if !c.Passing {
			state = "FAIL " + c.LastError
		}
		fmt.Fprintf(tw, "  check %s\t%s\n", c.Name, state)
	}
	for _, r := range st.Resources {
		line := fmt.Sprintf("%s, in sync %v", r.State, r.InSync)
		if len(r.Drift) > 0 {
			line += ", drift: " + strings.Join(r.Drift, "; ")
		}
		if r.LastError != "" {
			line += ", error: " + r.LastError
		}
		fmt.Fprintf(tw, "  %s\t%s\n", r.Name, line)
	}
	tw.Flush()
	if len(st.Transitions) > 0 {
		fmt.Fprintln(w, "\nLast transitions:")
		for _, t := range st.Transitions {
			fmt.Fprintf(w, "  %s  %-11s → %-11s %-22s token %d (%.0f ms in %s)\n",
				t.At.Local().Format("15:04:05.000"), t.From, t.To, t.Reason, t.Token, t.InPreviousMS, t.From)
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

func memberNamed(st admin.Status, name string) (admin.Member, bool) {
	for _, m := range st.Members {
		if m.Name == name {
			return m, true
		}
	}
	return admin.Member{}, false
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
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

func newStandbyCmd(socket *string) *cobra.Command {
	var node string
	var force bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "standby on|off [--node NAME]",
		Aliases: []string{"maintenance"},
		Short:   "Hold a node out of ownership, or let it back in (cluster-wide, persistent)",
		Long: `"standby on" makes a node (this one, or --node NAME) ineligible to hold the
address, as Pacemaker's "pcs node standby": if it holds the address, it hands
it to an eligible peer first (a planned switchover: the new holder acquires
under a higher fencing token), and it does not take the address again until
"standby off". The node keeps running, voting and health-checking.

With the raft election backend the standby is recorded in the cluster's
replicated log: it can be set from any member for any node, every member's
vipd status shows it, and it survives restarts of every member. With the
follow, dynamodb and etcd backends it applies to the local node only and is
kept in a file in node.data-dir, so it survives restarts of this node.

Refuses to put the holder in standby when no other node could take the
address (it would go unserved), unless --force. "maintenance" is another
name for this command.`,
		Example: "  vipd standby on\n  vipd standby on --node node-a\n  vipd standby off --node node-a",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var on bool
			switch args[0] {
			case "on":
				on = true
			case "off":
			default:
				return cli.Usage(fmt.Errorf("%s: want on or off, got %q", cmd.CalledAs(), args[0]))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return standby(ctx, cmd.ErrOrStderr(), admin.NewClient(*socket), node, on, force)
		},
	}
	cmd.Flags().StringVar(&node, "node", "", "the node to put in standby or take out (default: this one)")
	cmd.Flags().BoolVar(&force, "force", false, "put the holder in standby even when no other node can take the address")
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "give up waiting after this long")
	return cmd
}

// standby runs vipd standby: records it, waits for the address to move
// away from a holder, and says what happened and what comes next.
func standby(ctx context.Context, out io.Writer, c *admin.Client, node string, on, force bool) error {
	before, err := c.Status(ctx)
	if err != nil {
		return err
	}
	target := node
	if target == "" {
		target = before.Node
	}
	holds := on && before.Holder == target
	if holds {
		var others []string
		for _, m := range before.Members {
			if m.Name != target && m.Eligible {
				others = append(others, m.Name)
			}
		}
		if len(others) == 0 && !force {
			return fmt.Errorf("standby on %s: %s holds the address and no other node can take it (none is healthy, reachable and out of standby); "+
				"the address would go unserved: fix another node first, or add --force", target, target)
		}
		if len(others) == 0 {
			fmt.Fprintf(out, "%s holds the address and no other node can take it: it is released and nobody holds it until a node can\n", target)
		} else {
			fmt.Fprintf(out, "%s holds the address: it hands it over first (to one of %s)\n", target, strings.Join(others, ", "))
		}
	}
	start := time.Now()
	if err := c.Standby(ctx, node, on); err != nil {
		return err
	}
	where := "recorded by the cluster: every member sees it, and it survives restarts"
	if !before.StandbyReplicated {
		where = "recorded on this node: it survives restarts of this node"
	}
	if !on {
		fmt.Fprintf(out, "%s is out of standby (%s)\n", target, where)
		fmt.Fprintf(out, "next: %s may take the address again: when the holder fails, on vipd switchover --to %s, or at once if nobody holds it\n", target, target)
		return nil
	}
	fmt.Fprintf(out, "%s is in standby (%s)\n", target, where)
	if holds {
		for {
			st, err := c.Status(ctx)
			if err == nil && st.Holder != target && st.Holder != "" && st.Token > before.Token {
				fmt.Fprintf(out, "address moved from %s to %s (token %d) in %s\n", target, st.Holder, st.Token, time.Since(start).Round(time.Millisecond))
				break
			}
			if err == nil && st.Holder == "" && !holdsAny(st) && force {
				fmt.Fprintf(out, "address released by %s; nobody holds it\n", target)
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("standby on %s: recorded, but the address has not moved yet (see vipd status): %w", target, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	fmt.Fprintf(out, "next: %s will not take the address until vipd standby off --node %s\n", target, target)
	return nil
}

// holdsAny reports whether any member could take the address.
func holdsAny(st admin.Status) bool {
	for _, m := range st.Members {
		if m.Eligible {
			return true
		}
	}
	return false
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
