package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv("CLI_TEST_CHILD") == "1" {
		// The child of TestSignals: a command that runs until its context
		// is cancelled, as vipd run and vpcsim do.
		Main(&cobra.Command{Use: "child", RunE: func(c *cobra.Command, _ []string) error {
			fmt.Println("ready")
			<-c.Context().Done()
			fmt.Fprintln(os.Stderr, "cleaned up")
			return nil
		}})
	}
	goleak.VerifyTestMain(m)
}

// tree is a command tree like vipd's: runnable subcommands with argument
// checks, a command that only groups others, one whose flag value is
// checked in RunE, and the hidden man command.
func tree(stdout *bytes.Buffer) *cobra.Command {
	root := &cobra.Command{Use: "tool", SilenceUsage: true, SilenceErrors: true}
	root.SetOut(stdout) // before Setup: cobra's completion command keeps the writer it finds then
	var mode string
	run := &cobra.Command{Use: "run", Short: "Run *it*", Long: runLong, Args: cobra.ExactArgs(0), RunE: func(*cobra.Command, []string) error {
		switch mode {
		case "ok":
			return nil
		case "fail":
			return errors.New("it failed")
		}
		return Usage(fmt.Errorf("unknown mode %q", mode))
	}}
	run.Flags().StringVar(&mode, "mode", "ok", "ok or fail")
	group := &cobra.Command{Use: "group"}
	group.AddCommand(&cobra.Command{Use: "leaf", Run: func(*cobra.Command, []string) {}})
	root.AddCommand(run, group, ManCmd())
	Setup(root)
	return root
}

func TestExitStatus(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want int
		msg  string // in stderr
	}{
		{[]string{"run"}, 0, ""},
		{[]string{"run", "--mode", "fail"}, ExitFailure, "tool: it failed"},
		{[]string{"run", "--mode", "odd"}, ExitUsage, `unknown mode "odd"`},
		{[]string{"run", "--no-such-flag"}, ExitUsage, "unknown flag: --no-such-flag\nsee 'tool run --help'"},
		{[]string{"run", "--mode"}, ExitUsage, "flag needs an argument"},
		{[]string{"run", "extra"}, ExitUsage, "accepts 0 arg(s), received 1"},
		{[]string{"nosuch"}, ExitUsage, `unknown command "nosuch" for "tool"`},
		{[]string{"rnu"}, ExitUsage, "Did you mean this?\n\trun"},
		{[]string{"group", "nosuch"}, ExitUsage, `unknown command "nosuch" for "tool group"`},
		{[]string{"group"}, 0, ""},
		{[]string{"group", "leaf"}, 0, ""},
		{[]string{"completion", "nosuch"}, ExitUsage, `unknown command "nosuch" for "tool completion"`},
		{[]string{"completion", "bash"}, 0, ""},
		{[]string{"help", "nosuch"}, ExitUsage, `unknown help topic "nosuch"`},
		{[]string{"help", "run"}, 0, ""},
		{[]string{"man"}, ExitUsage, "accepts 1 arg(s), received 0"},
		{[]string{}, 0, ""},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			root := tree(&stdout)
			root.SetErr(&stderr)
			if got := Run(t.Context(), root, tt.args, &stderr); got != tt.want {
				t.Errorf("exit status %d, want %d; stderr %q", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.msg) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.msg)
			}
		})
	}
}

// TestSignals runs a command in a child process until a signal stops it:
// after SIGINT it exits 130, as shells expect of a program Ctrl-C stopped;
// after SIGTERM, systemd's way to stop a service, 0 once it stopped
// cleanly. Both let the command clean up first.
func TestSignals(t *testing.T) {
	for _, tt := range []struct {
		sig  syscall.Signal
		want int
	}{
		{syscall.SIGINT, ExitInterrupted},
		{syscall.SIGTERM, 0},
	} {
		t.Run(tt.sig.String(), func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "CLI_TEST_CHILD=1")
			cmd.WaitDelay = 5 * time.Second
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child said %q, %v, want ready", line, err)
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			got := 0
			if errors.As(err, &ee) {
				got = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("exit status after %v: %d, want %d (stderr %q)", tt.sig, got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), "cleaned up") {
				t.Errorf("the command did not finish after %v: stderr %q", tt.sig, stderr.String())
			}
		})
	}
}
