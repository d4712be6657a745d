package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/node"
)

func listenLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func tcpCheck(addr string) config.Check {
	c := config.DefaultCheck()
	c.Name, c.TCP = "tcp "+addr, addr
	c.Interval, c.Timeout, c.Rise, c.Fall = 20*time.Millisecond, 20*time.Millisecond, 2, 1
	return c
}

func monitor(t *testing.T, checks ...config.Check) *health.Monitor {
	t.Helper()
	m, err := health.NewMonitor(checks, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// poll waits for cond, failing the test after 5 s.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func checkNames(h node.Health) string {
	var names []string
	for _, s := range h.Status() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// TestSwapHealth replaces passing checks with other passing checks on a
// healthy node: Healthy never reads false in between. Checks that fail
// take over after their settle time.
func TestSwapHealth(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a, b, dead := listenLoopback(t), listenLoopback(t), closedPort(t)
	s := newSwapHealth(monitor(t, tcpCheck(a)), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	poll(t, "healthy old checks", s.Healthy)

	// Watch Healthy while the checks are replaced.
	var unhealthy bool
	stopWatch := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(time.Millisecond):
				unhealthy = unhealthy || !s.Healthy()
			}
		}
	})
	s.Replace(monitor(t, tcpCheck(b)), 5*time.Second)
	poll(t, "the new checks in effect", func() bool { return checkNames(s) == "tcp "+b })
	close(stopWatch)
	watch.Wait()
	if unhealthy {
		t.Errorf("Healthy read false while passing checks replaced passing checks")
	}
	if !s.Healthy() {
		t.Errorf("Healthy = false after the swap")
	}

	s.Replace(monitor(t, tcpCheck(dead)), 200*time.Millisecond)
	poll(t, "failing checks in effect after their settle time", func() bool {
		return checkNames(s) == "tcp "+dead && !s.Healthy()
	})
}

type recordNotifier struct{ name string }

func (r recordNotifier) Notify(context.Context, hooks.Event) error { return fmt.Errorf("%s", r.name) }

// TestReload reloads a configuration file: an invalid file keeps the
// running configuration; a valid one replaces checks and scripts and
// reports the settings that need a restart.
func TestReload(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a, b := listenLoopback(t), listenLoopback(t)
	path := filepath.Join(t.TempDir(), "vipd.yaml")
	write := func(check, lease, notify string) {
		t.Helper()
		body := fmt.Sprintf(`cluster: c
node: {name: a, advertise: 127.0.0.1:7946, data-dir: /tmp/x}
peers:
  - {name: b, address: 127.0.0.2:7946}
  - {name: w, address: 127.0.0.3:7946, witness: true}
election: {lease: %s}
health:
  - {tcp: %q, interval: 20ms, timeout: 20ms, rise: 1, fall: 1}
local-address: {interface: none}
notify: {master: %q}
`, lease, check, notify)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(a, "2s", "/bin/true")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuf
	log := slog.New(slog.NewTextHandler(&logs, nil))
	deps := node.Deps{Health: monitor(t, cfg.Health...), Hooks: recordNotifier{"old"}}
	ctx, cancel := context.WithCancel(t.Context())
	stop := watchReload(ctx, cfg, &deps, log)
	var wg sync.WaitGroup
	wg.Go(func() { _ = deps.Health.Run(ctx) })
	defer func() { stop(); cancel(); wg.Wait() }()
	r := &reloader{cfg: cfg, log: log, health: deps.Health.(*swapHealth), hooks: deps.Hooks.(*swapNotifier)}
	poll(t, "healthy checks", deps.Health.Healthy)

	if err := os.WriteFile(path, []byte("cluster: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.reload()
	if !strings.Contains(logs.String(), "reload failed; keeping the running configuration") {
		t.Errorf("invalid file: log lacks the failure:\n%s", logs.String())
	}
	if got := checkNames(deps.Health); got != "tcp "+a {
		t.Errorf("checks after a failed reload = %q, want tcp %s", got, a)
	}

	write(b, "3s", "/bin/false")
	r.reload()
	poll(t, "the new checks in effect", func() bool { return checkNames(deps.Health) == "tcp "+b })
	if !deps.Health.Healthy() {
		t.Errorf("unhealthy after reloading passing checks")
	}
	if _, ok := r.hooks.get().(*hooks.Runner); !ok {
		t.Errorf("notify scripts not replaced")
	}
	if !strings.Contains(logs.String(), "changes that need a restart are not applied") || !strings.Contains(logs.String(), "election") {
		t.Errorf("log lacks the restart-only election change:\n%s", logs.String())
	}
	if r.cfg.Election.Lease != 2*time.Second || r.cfg.Notify.Master != "/bin/false" {
		t.Errorf("running config: lease %s notify %q, want the old lease and the new script", r.cfg.Election.Lease, r.cfg.Notify.Master)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
