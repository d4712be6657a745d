//go:build !linux

package demo

import "syscall"

// childAttr puts a child in its own process group, so that a Ctrl-C in the
// terminal reaches only the demo, which then stops the children itself.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
