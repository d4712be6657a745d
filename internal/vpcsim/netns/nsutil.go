package netns

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	vns "github.com/vishvananda/netns"
)

// inNamespace runs f on an OS thread switched into the named namespace and
// switches the thread back afterwards. Sockets created by f stay in that
// namespace for their whole life, which is how the fabric listens and dials
// inside instances without extra processes. If the thread cannot be switched
// back it is left locked, so the runtime discards it instead of letting
// another goroutine run in the wrong namespace.
func inNamespace(name string, f func() error) error {
	target, err := vns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", name, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := vns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open own namespace: %w", err)
	}
	defer orig.Close()
	if err := vns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter namespace %s: %w", name, err)
	}
	ferr := f()
	if err := vns.Set(orig); err != nil {
		// Keep the thread locked: it dies with this goroutine.
		return fmt.Errorf("leave namespace %s: %w (after: %v)", name, err, ferr)
	}
	runtime.UnlockOSThread()
	return ferr
}

// listenIn opens a TCP listener inside a namespace.
func listenIn(ns, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNamespace(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s in %s: %w", addr, ns, err)
	}
	return ln, nil
}

// dialIn connects from inside a namespace. The goroutine stays on the
// switched thread until the connection is made (or fails), so the socket
// belongs to that namespace.
func dialIn(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNamespace(ns, func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", addr, ns, err)
	}
	return c, nil
}

// ipCmd runs the ip(8) tool; namespaces are created and removed with it
// because it also prepares /run/netns as a shared mount, which
// netns.NewNamed (vishvananda) does not.
func ipCmd(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// sysctlIn sets a sysctl inside a namespace. /proc/sys/net resolves to
// the network namespace of the thread that opens it, so no sysctl(8) is
// needed.
func sysctlIn(ns, key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	err := inNamespace(ns, func() error { return os.WriteFile(path, []byte(value), 0o644) })
	if err != nil {
		return fmt.Errorf("set %s in %s: %w", key, ns, err)
	}
	return nil
}

// namePrefix is the per-run prefix of everything the fabric creates:
// "vt", the process ID, "x" and a per-process counter, so that parallel
// runs never collide and Sweep can tell a dead run's leftovers.
func namePrefix(n int) string {
	return fmt.Sprintf("vt%dx%d", os.Getpid(), n)
}

// Namespaces lists the named network namespaces whose names start with
// prefix ("vt" for every fabric's).
func Namespaces(prefix string) ([]string, error) {
	ents, err := os.ReadDir("/run/netns")
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Sweep removes namespaces left behind by fabrics of processes that no
// longer exist (a run killed with SIGKILL cannot clean up after itself).
// It returns the names it removed.
func Sweep(ctx context.Context) ([]string, error) {
	names, err := Namespaces("vt")
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, n := range names {
		rest := strings.TrimPrefix(n, "vt")
		pidStr, _, ok := strings.Cut(rest, "x")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || err == syscall.EPERM {
			continue // its run is alive
		}
		if err := ipCmd(ctx, "netns", "delete", n); err != nil {
			return removed, err
		}
		removed = append(removed, filepath.Base(n))
	}
	return removed, nil
}
