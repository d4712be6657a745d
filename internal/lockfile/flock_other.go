//go:build !unix

package lockfile

import (
	"errors"
	"os"
)

var errHeld = errors.New("locked")

// lock is unavailable without flock; vipd runs on Linux, this only keeps
// the package building elsewhere.
func lock(*os.File) error { return errors.ErrUnsupported }
