package ebsvolume

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/config"
)

// Host is the Linux Device: it finds the block device under
// /dev/disk/by-id, runs fsck -a, and mounts with mount(2).
type Host struct {
	cfg config.EBSVolume
}

// NewHost returns the Device for cfg's block-device, mount-point, fs-type,
// options and fsck.
func NewHost(cfg config.EBSVolume) *Host {
	if cfg.FSType == "" {
		cfg.FSType = "ext4"
	}
	return &Host{cfg: cfg}
}

// candidates are where the kernel may show the volume: on Nitro instances
// an NVMe device whose serial is the volume id without its dash, which
// udev links as nvme-Amazon_Elastic_Block_Store_vol…; on Xen instances the
// requested name with sd replaced by xvd.
func (h *Host) candidates(volumeID, device string) []string {
	if h.cfg.BlockDevice != "" {
		return []string{h.cfg.BlockDevice}
	}
	serial := strings.ReplaceAll(volumeID, "-", "")
	out := []string{"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + serial}
	if strings.HasPrefix(device, "/dev/sd") {
		out = append(out, "/dev/xvd"+strings.TrimPrefix(device, "/dev/sd"))
	}
	return append(out, device)
}

// Wait polls every 100 ms until one of the candidate paths exists.
func (h *Host) Wait(ctx context.Context, volumeID, device string) (string, error) {
	cands := h.candidates(volumeID, device)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		for _, c := range cands {
			if p, err := filepath.EvalSymlinks(c); err == nil {
				return p, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for block device of %s (%s): %w", volumeID, strings.Join(cands, ", "), ctx.Err())
		case <-t.C:
		}
	}
}

// mountFlags are the options mount(2) takes as flags; the rest go to the
// file system as data, as mount(8) splits them.
var mountFlags = map[string]uintptr{
	"ro": unix.MS_RDONLY, "rw": 0, "noatime": unix.MS_NOATIME, "nodiratime": unix.MS_NODIRATIME,
	"relatime": unix.MS_RELATIME, "nodev": unix.MS_NODEV, "nosuid": unix.MS_NOSUID,
	"noexec": unix.MS_NOEXEC, "sync": unix.MS_SYNCHRONOUS, "dirsync": unix.MS_DIRSYNC,
}

// Mount runs fsck -a when configured (exit 0 or 1: clean or repaired),
// creates the mount point and mounts.
func (h *Host) Mount(ctx context.Context, dev string) error {
	if h.cfg.MountPoint == "" {
		return nil
	}
	if ok, err := h.Mounted(ctx); err != nil || ok {
		return err
	}
	if h.cfg.Fsck {
		cmd := exec.CommandContext(ctx, "fsck", "-a", "-T", dev)
		cmd.WaitDelay = time.Second
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			err = nil // errors corrected
		}
		if err != nil {
			return fmt.Errorf("fsck %s: %w: %s", dev, err, strings.TrimSpace(string(out)))
		}
	}
	if err := os.MkdirAll(h.cfg.MountPoint, 0o755); err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	var flags uintptr
	var data []string
	for _, o := range h.cfg.Options {
		if f, ok := mountFlags[o]; ok {
			flags |= f
		} else {
			data = append(data, o)
		}
	}
	if err := unix.Mount(dev, h.cfg.MountPoint, h.cfg.FSType, flags, strings.Join(data, ",")); err != nil {
		return fmt.Errorf("mount %s on %s (%s): %w", dev, h.cfg.MountPoint, h.cfg.FSType, err)
	}
	return nil
}

// ErrBusy reports a file system that cannot be unmounted because it is in
// use; the volume is then not detached.
var ErrBusy = errors.New("file system busy: a process still uses it; stop it (notify backup/stop hooks) before release")

// Unmount unmounts the mount point; not mounted is success, busy is
// ErrBusy.
func (h *Host) Unmount(ctx context.Context) error {
	if h.cfg.MountPoint == "" {
		return nil
	}
	err := unix.Unmount(h.cfg.MountPoint, 0)
	switch {
	case err == nil, errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
		return ctx.Err()
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("unmount %s: %w: %w", h.cfg.MountPoint, ErrBusy, err)
	}
	return fmt.Errorf("unmount %s: %w", h.cfg.MountPoint, err)
}

// Mounted reads /proc/self/mountinfo for the mount point.
func (h *Host) Mounted(ctx context.Context) (bool, error) {
	if h.cfg.MountPoint == "" {
		return true, nil
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	want := filepath.Clean(h.cfg.MountPoint)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mount-point options ...
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMount(fields[4]) == want {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes of space, tab, newline
// and backslash.
func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}
