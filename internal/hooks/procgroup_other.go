//go:build !unix

package hooks

import "os/exec"

// setProcessGroup leaves exec's default cancellation (kill the script
// itself) where process groups do not exist; WaitDelay still bounds the wait
// for children that hold its output open.
func setProcessGroup(cmd *exec.Cmd) {}
