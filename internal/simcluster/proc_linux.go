package simcluster

import "syscall"

// ProcAttr puts a child in its own process group, so that a signal to
// the group reaches its children and a Ctrl-C in the terminal reaches only
// the harness, which then stops the children itself; and asks the kernel
// to kill the child if the harness dies without cleaning up.
func ProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
