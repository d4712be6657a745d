//go:build !unix

package health

import "os/exec"

// ownProcessGroup leaves cmd as it is: without Unix process groups,
// cancellation kills the direct child only (exec.CommandContext's default).
func ownProcessGroup(*exec.Cmd) {}
