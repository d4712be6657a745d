// Package cli is how the vipd and vpcsim commands end: one place that
// decides exit statuses, so that scripts and systemd can tell a usage
// mistake (2) from a failure (1) and from an interrupt (130), whatever
// command or cobra check produced the error. Only commands import cli.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit statuses.
const (
	ExitFailure = 1
	ExitUsage   = 2
	// ExitInterrupted is 128 + SIGINT, what shells report for a program
	// stopped by Ctrl-C, so that `cmd && next` and `set -e` stop there.
	ExitInterrupted = 130
)

// ExitStatusHelp is the paragraph that ends each root command's --help.
const ExitStatusHelp = `Exit status: 0 on success; 1 when the command failed; 2 for a usage error
(unknown command or flag, wrong arguments, an invalid flag value); 130 when
interrupted (SIGINT, Ctrl-C), after cleaning up. SIGTERM stops a command
the same way but exits 0 once it stopped cleanly, as systemd expects.`

// UsageError marks an error that is the caller's fault: an unknown
// command or flag, wrong arguments, a flag value out of its set.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usage marks err as a usage error (exit status 2); nil stays nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return UsageError{err}
}

// Setup makes every way cobra rejects a command line a usage error, for
// root and all its subcommands (call it once the tree is complete): flag
// parse errors, argument-count checks (Args), and unknown commands, which
// cobra would otherwise report as plain errors (exit 1) or answer with help
// (exit 0).
func Setup(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return Usage(fmt.Errorf("%w\nsee '%s --help'", err, c.CommandPath()))
	})
	// The default completion command joins the tree only when it runs;
	// add it now so that its argument checks are covered too. cobra's
	// help command answers an unknown topic with the root's help (exit 0).
	root.SetHelpCommand(helpCmd())
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	markArgs(root)
}

// helpCmd is cobra's help command, with an unknown topic a usage error.
func helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help prints the help of any command, named by its path.",
		Args: func(c *cobra.Command, args []string) error {
			if _, rest, err := c.Root().Find(args); err != nil || len(rest) > 0 {
				return fmt.Errorf("unknown help topic %q\nsee '%s --help'", strings.Join(args, " "), c.Root().CommandPath())
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return err
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
}

func unknownCommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, set where it suggests
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return fmt.Errorf("%s\nsee '%s --help'", msg, c.CommandPath())
}

func markArgs(c *cobra.Command) {
	if c.HasSubCommands() {
		// cobra checks for unknown subcommands of the root only, and only
		// when Args is nil, with an error of its own; commands that only
		// group subcommands answer any argument with help (exit 0), before
		// checking Args. With this check, and help as the action of a
		// command that has none, both are usage errors, with cobra's
		// suggestions.
		if c.Args == nil {
			c.Args = unknownCommand
		}
		if !c.Runnable() {
			c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		}
	}
	if check := c.Args; check != nil {
		c.Args = func(c *cobra.Command, args []string) error { return Usage(check(c, args)) }
	}
	for _, sub := range c.Commands() {
		markArgs(sub)
	}
}

// Main runs root with the process's arguments until it returns or SIGINT
// or SIGTERM cancels its context, prints its error on stderr as
// "NAME: error", and exits with ExitStatus.
func Main(root *cobra.Command) {
	os.Exit(Run(context.Background(), root, os.Args[1:], os.Stderr))
}

// Run is Main without the exit: it returns the exit status.
func Run(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	ctx, stop := notify(ctx)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	sig := stop()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", root.Name(), err)
	}
	return ExitStatus(err, sig)
}

// ExitStatus is the exit status of a command that returned err after
// receiving sig (nil if none): 130 after SIGINT whatever the command
// returned, else 0, 2 for a UsageError, 1 for any other error.
func ExitStatus(err error, sig os.Signal) int {
	var ue UsageError
	switch {
	case sig == os.Interrupt:
		return ExitInterrupted
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return ExitUsage
	default:
		return ExitFailure
	}
}

// notify returns ctx cancelled by the first SIGINT or SIGTERM (later ones
// are ignored until stop, so that cleanup finishes) and a stop that
// restores the default handling and returns the signal received, or nil.
func notify(parent context.Context) (context.Context, func() os.Signal) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var got os.Signal
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case s := <-ch:
			got = s
			cancel(fmt.Errorf("%v signal received", s))
		case <-ctx.Done():
		}
	}()
	return ctx, func() os.Signal {
		signal.Stop(ch)
		cancel(nil)
		<-done // got is written before done closes
		return got
	}
}
