package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/admin"
)

// loopStub answers Status like a running node loop, or hangs like a wedged
// one until the caller gives up.
type loopStub struct{ wedged atomic.Bool }

func (l *loopStub) Status(ctx context.Context) (admin.Status, error) {
	if l.wedged.Load() {
		<-ctx.Done()
		return admin.Status{}, ctx.Err()
	}
	return admin.Status{}, nil
}

// notifySocket listens where NOTIFY_SOCKET points, as systemd does.
func notifySocket(t *testing.T) *net.UnixConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

// next reads the next notification, or "" when none comes within d.
func next(t *testing.T, c *net.UnixConn, d time.Duration) string {
	t.Helper()
	buf := make([]byte, 512)
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(buf[:n]))
}

func TestNotifySystemd(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	c := notifySocket(t)
	t.Setenv("WATCHDOG_USEC", "200000") // pings every 100ms
	t.Setenv("WATCHDOG_PID", "")
	loop := &loopStub{}
	loop.wedged.Store(true)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stop := notifySystemd(ctx, loop, slog.New(slog.DiscardHandler))
	defer stop()

	if got := next(t, c, 300*time.Millisecond); got != "" {
		t.Fatalf("notification %q before the loop answered", got)
	}
	loop.wedged.Store(false)
	if got := next(t, c, 5*time.Second); got != "READY=1" {
		t.Fatalf("first notification = %q, want READY=1", got)
	}
	for range 2 {
		if got := next(t, c, 5*time.Second); got != "WATCHDOG=1" {
			t.Fatalf("notification = %q, want WATCHDOG=1", got)
		}
	}
	// A wedged loop starves the watchdog.
	loop.wedged.Store(true)
	_ = next(t, c, 150*time.Millisecond) // a ping already under way
	if got := next(t, c, 400*time.Millisecond); got != "" {
		t.Fatalf("notification %q while the loop is wedged, want none", got)
	}
	loop.wedged.Store(false)
	if got := next(t, c, 5*time.Second); got != "WATCHDOG=1" {
		t.Fatalf("notification = %q after the loop recovered, want WATCHDOG=1", got)
	}
	cancel()
	for {
		got := next(t, c, 5*time.Second)
		if got == "STOPPING=1" {
			break
		}
		if got != "WATCHDOG=1" {
			t.Fatalf("notification = %q at shutdown, want STOPPING=1", got)
		}
	}
}

func TestNotifySystemdOutsideSystemd(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Setenv("NOTIFY_SOCKET", "")
	stop := notifySystemd(t.Context(), &loopStub{}, slog.New(slog.DiscardHandler))
	stop()
}
