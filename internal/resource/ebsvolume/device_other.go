//go:build !linux

package ebsvolume

import (
	"context"
	"errors"

	"github.com/vipd/vipd/internal/config"
)

// ErrBusy reports a file system that cannot be unmounted because it is in
// use.
var ErrBusy = errors.New("file system busy")

var errNoHost = errors.New("mounting volumes needs Linux; set host: none")

// Host is unavailable off Linux; every method fails.
type Host struct{}

// NewHost returns a Host whose methods fail.
func NewHost(config.EBSVolume) *Host { return &Host{} }

func (*Host) Wait(context.Context, string, string) (string, error) { return "", errNoHost }
func (*Host) Mount(context.Context, string) error                  { return errNoHost }
func (*Host) Unmount(context.Context) error                        { return errNoHost }
func (*Host) Mounted(context.Context) (bool, error)                { return false, errNoHost }
