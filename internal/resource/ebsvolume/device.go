package ebsvolume

import "context"

// Device is the host side of a volume: finding its block device after the
// attachment, checking and mounting it, and unmounting it before release.
// *Host (Linux) and NoDevice fit.
type Device interface {
	// Wait waits within ctx until the volume's block device exists and
	// returns its path.
	Wait(ctx context.Context, volumeID, device string) (string, error)
	// Mount checks (when configured) and mounts the block device at the
	// mount point. Idempotent: a mounted file system is left alone.
	Mount(ctx context.Context, blockDevice string) error
	// Unmount unmounts the mount point; a busy file system is an error,
	// never forced, because detaching it would lose writes.
	Unmount(ctx context.Context) error
	// Mounted reports whether the mount point has a file system mounted.
	Mounted(ctx context.Context) (bool, error)
}

// NoDevice is the Device of `host: none`: no block device is waited for
// and nothing is mounted, for tests, the rootless demo, and hosts where
// another tool mounts the volume (a notify script). It reports success.
type NoDevice struct{}

// Wait returns at once.
func (NoDevice) Wait(ctx context.Context, volumeID, device string) (string, error) {
	return "(host none)", ctx.Err()
}

// Mount does nothing.
func (NoDevice) Mount(context.Context, string) error { return nil }

// Unmount does nothing.
func (NoDevice) Unmount(context.Context) error { return nil }

// Mounted reports true: nothing is wanted on the host.
func (NoDevice) Mounted(context.Context) (bool, error) { return true, nil }
