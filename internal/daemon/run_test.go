package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/lockfile"
	"github.com/vipd/vipd/internal/testenv"
)

// witnessConfig is a witness of a cluster whose other members are not
// running: it needs no AWS, only loopback ports and a directory.
func witnessConfig(t *testing.T) *config.Config {
	t.Helper()
	// A unix socket path is limited to 108 bytes; t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "vipd-run")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	src := fmt.Sprintf(`cluster: c
node: {name: w, advertise: %q, witness: true, data-dir: %q}
peers:
  - {name: a, address: %q}
  - {name: b, address: %q}
api: {socket: %q, metrics: %q}
`, closedPort(t), filepath.Join(dir, "data"), closedPort(t), closedPort(t), filepath.Join(dir, "run", "vipd.sock"), closedPort(t))
	cfg, err := config.Parse([]byte(src), filepath.Join(dir, "vipd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A second run of the same configuration exits at once, naming the
// running daemon's pid, and leaves the running daemon's socket (and with
// it everything else) alone (issue 16: it removed the socket, then hung on
// the raft log's lock while answering status itself).
func TestSecondRunOfTheSameConfigLeavesTheFirstAlone(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := witnessConfig(t)
	ctx, cancel := context.WithCancel(t.Context())
	var firstLog testenv.SyncBuffer
	first := make(chan error, 1)
	go func() { first <- Run(ctx, cfg, &firstLog) }()
	defer func() {
		cancel()
		select {
		case err := <-first:
			if err != nil {
				t.Errorf("first run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("first run did not stop within 10s")
		}
	}()
	client := admin.NewClient(cfg.API.Socket)
	poll(t, "the first daemon's socket", func() bool {
		_, err := client.Status(t.Context())
		return err == nil
	})

	var secondLog testenv.SyncBuffer
	second := make(chan error, 1)
	go func() { second <- Run(t.Context(), cfg, &secondLog) }()
	select {
	case err := <-second:
		held, ok := errors.AsType[*lockfile.HeldError](err)
		if !ok || held.PID != os.Getpid() {
			t.Errorf("second run: %v, want the lock held by pid %d", err, os.Getpid())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("second run still running after 5s; its log:\n%s", secondLog.String())
	}
	st, err := client.Status(t.Context())
	if err != nil {
		t.Fatalf("the first daemon's socket after the second run: %v", err)
	}
	if st.Node != "w" {
		t.Errorf("status answered by %q", st.Node)
	}
}

// Run serves the admin socket and the metrics listener while the node runs
// and has closed both, and every goroutine it started, when it returns: a
// restarted vipd binds them again at once (issue 18).
func TestRunServesWhileRunningAndStopsEverything(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := witnessConfig(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var log testenv.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, &log) }()

	client := admin.NewClient(cfg.API.Socket)
	poll(t, "the admin socket", func() bool {
		_, err := client.Status(t.Context())
		return err == nil
	})
	metrics := "http://" + cfg.API.Metrics + "/metrics"
	resp, err := http.Get(metrics)
	if err != nil {
		t.Fatalf("GET %s while running: %v", metrics, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "vipd_state") {
		t.Errorf("GET %s: %s, want 200 with vipd_state; body:\n%.300s", metrics, resp.Status, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return within 10s of its context ending; log:\n%s", log.String())
	}
	if _, err := os.Stat(cfg.API.Socket); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("admin socket after Run returned: stat = %v, want it removed", err)
	}
	if c, err := net.DialTimeout("tcp", cfg.API.Metrics, time.Second); err == nil {
		c.Close()
		t.Errorf("metrics listener %s still accepts after Run returned", cfg.API.Metrics)
	}
}
