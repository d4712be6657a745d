//go:build unix

package lockfile

import (
	"errors"
	"os"
	"syscall"
)

var errHeld = syscall.EWOULDBLOCK

// lock takes flock(LOCK_EX) on f without waiting. flock locks belong to
// the open file description, so a second open of the same file in this
// process conflicts too.
func lock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
