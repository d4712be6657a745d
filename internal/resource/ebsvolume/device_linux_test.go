package ebsvolume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/config"
)

// TestHostMountsAndRefusesBusyUnmount runs the Linux Device on a tmpfs in
// a temporary directory: mount, a second mount that changes nothing, an
// unmount refused while a file is open, then a clean unmount. Root only:
// it skips elsewhere and fails under CI=true.
func TestHostMountsAndRefusesBusyUnmount(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to mount, and CI=true")
		}
		t.Skip("needs root to mount")
	}
	dir := t.TempDir()
	mp := filepath.Join(dir, "data")
	blk := filepath.Join(dir, "nvme1n1")
	if err := os.WriteFile(blk, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h := NewHost(config.EBSVolume{BlockDevice: blk, MountPoint: mp, FSType: "tmpfs", Options: []string{"noatime", "size=1m"}})
	t.Cleanup(func() { unix.Unmount(mp, unix.MNT_DETACH) })
	ctx := t.Context()

	wctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	dev, err := h.Wait(wctx, "vol-0a000000000000001", "/dev/sdf")
	if err != nil || dev != blk {
		t.Fatalf("Wait = %q, %v; want the configured block device %s", dev, err, blk)
	}
	if ok, err := h.Mounted(ctx); ok || err != nil {
		t.Fatalf("Mounted before Mount = %v, %v", ok, err)
	}
	for range 2 {
		if err := h.Mount(ctx, "tmpfs"); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := h.Mounted(ctx); !ok || err != nil {
		t.Fatalf("Mounted after Mount = %v, %v", ok, err)
	}
	f, err := os.Create(filepath.Join(mp, "open"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Unmount(ctx); !errors.Is(err, ErrBusy) {
		t.Errorf("Unmount with an open file = %v, want ErrBusy", err)
	}
	f.Close()
	for range 2 {
		if err := h.Unmount(ctx); err != nil {
			t.Fatalf("Unmount: %v", err)
		}
	}
	if ok, _ := h.Mounted(ctx); ok {
		t.Error("still mounted after Unmount")
	}
}

func TestHostWaitGivesUp(t *testing.T) {
	h := NewHost(config.EBSVolume{})
	ctx, cancel := context.WithTimeout(t.Context(), 250*time.Millisecond)
	defer cancel()
	if _, err := h.Wait(ctx, "vol-0fffffffffffffff1", "/dev/sdz"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait for a device that never appears = %v", err)
	}
}
