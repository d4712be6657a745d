//go:build unix

package health

import (
	"errors"
	"os/exec"
	"syscall"
)

// ownProcessGroup starts cmd as the leader of a new process group and makes
// cancellation kill the whole group: exec.CommandContext alone kills only
// the direct child, and a `sh -c` check would leave its children running.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			// The group is already gone; let Wait report how it ended.
			return nil
		}
		return err
	}
}
