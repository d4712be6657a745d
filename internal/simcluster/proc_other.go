//go:build !linux

package simcluster

import "syscall"

// ProcAttr puts a child in its own process group, so that a signal to
// the group reaches its children and a Ctrl-C in the terminal reaches only
// the harness, which then stops the children itself.
func ProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
