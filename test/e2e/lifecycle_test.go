//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// hungHooks makes every notify script of the nodes hang: it records its
// pid (so the test can end it) and sleeps past the test.
func hungHooks(t *testing.T) func(*comboMember) {
	return func(m *comboMember) {
		if m.witness {
			return
		}
		script := filepath.Join(m.dir, "hang.sh")
		body := fmt.Sprintf("#!/bin/sh\necho $$ >> %s\nexec sleep 120\n", filepath.Join(m.dir, "hook.pids"))
		if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		m.edit = func(cfg *config.Config) {
			cfg.Notify.Master, cfg.Notify.Backup, cfg.Notify.Stop, cfg.Notify.Timeout = script, script, script, 15*time.Second
		}
		t.Cleanup(func() {
			b, _ := os.ReadFile(filepath.Join(m.dir, "hook.pids"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		})
	}
}

// waitExit waits for m's process to exit and returns its exit error.
func (c *combo) waitExit(m *comboMember, within time.Duration) (error, bool) {
	select {
	case err := <-m.done:
		m.proc = nil
		return err, true
	case <-time.After(within):
		return nil, false
	}
}

// A planned stop (SIGTERM) of the primary hands over within about a lease
// even when its notify scripts hang: the address and the lease are given
// up before the stop script runs (issue 16: with a hung hook the handover
// waited for notify.timeout).
func TestPlannedStopWithHungHookHandsOverPromptly(t *testing.T) {
	c := startCombo(t, hungHooks(t))
	p := c.waitPrimary(30*time.Second, "")
	c.waitWorld(p, 20*time.Second)
	q := other(p)
	c.waitEligiblePeer(q, p, 30*time.Second)

	m := c.byName(p)
	start := time.Now()
	if err := m.proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := c.waitPrimary(25*time.Second, p); got != q {
		t.Fatalf("primary after stopping %s = %s", p, got)
	}
	took := time.Since(start)
	t.Logf("SIGTERM of primary %s with a hung notify script (timeout 15s) → %s primary after %s (lease 2s)", p, q, took.Round(time.Millisecond))
	// The combined resources move in about a second on vpcsim; the hook
	// timeout is 15 s.
	if took > 8*time.Second {
		t.Errorf("handover took %s, want about a lease (2s), not the hook timeout", took.Round(time.Millisecond))
	}
	c.waitWorld(q, 20*time.Second)
	// The stopping node still waits for its stop script, bounded by the
	// timeout, then exits cleanly.
	if err, ok := c.waitExit(m, 40*time.Second); !ok {
		t.Errorf("%s still running 40s after SIGTERM", p)
	} else if err != nil {
		t.Errorf("%s exited with %v after SIGTERM", p, err)
	}
}

// waitEligiblePeer waits until node sees peer reachable and eligible.
func (c *combo) waitEligiblePeer(peer, node string, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := c.status(node)
		if err == nil {
			for _, pe := range st.Peers {
				if pe.Name == peer && pe.Reachable && pe.Eligible {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s does not see %s as an eligible peer: %+v, %v", node, peer, st.Peers, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A node whose election cannot start (its cluster port is taken) exits
// with an error instead of hanging without an election (issue 16).
func TestFatalElectionErrorExits(t *testing.T) {
	c := startCombo(t)
	p := c.waitPrimary(30*time.Second, "")
	m := c.byName(other(p))
	c.stop(m, syscall.SIGTERM)
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		t.Fatalf("take %s's cluster port: %v", m.name, err)
	}
	defer ln.Close()
	c.start(m)
	err, ok := c.waitExit(m, 20*time.Second)
	if !ok {
		t.Fatalf("%s still running 20s after its election failed", m.name)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("%s exited with %v, want status 1", m.name, err)
	}
	log, _ := os.ReadFile(filepath.Join(m.dir, "vipd.log"))
	if !bytes.Contains(log, []byte("address already in use")) {
		t.Errorf("%s's log does not name the cause:\n%s", m.name, log)
	}
	// The primary was never disturbed.
	if st, err := c.status(p); err != nil || st.Role != "primary" {
		t.Errorf("%s after the failed start: %+v, %v", p, st.Role, err)
	}
}

// A second `vipd run` of the primary's configuration exits at once naming
// the running daemon's pid, and changes nothing: the running daemon keeps
// its socket and the address, and no AWS write is made (issue 16: it
// removed the socket and, as a backup, the primary's address).
func TestSecondRunLeavesTheDaemonAlone(t *testing.T) {
	c := startCombo(t)
	p := c.waitPrimary(30*time.Second, "")
	c.waitWorld(p, 20*time.Second)
	m := c.byName(p)
	seq := lastSeq(c.sim)

	var out bytes.Buffer
	cmd := exec.Command(c.bin, "run", "--config", m.config)
	cmd.Env = c.env(m)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("second run exited with %v, want status 1", err)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("second run still running after 10s:\n%s", out.String())
	}
	if want := fmt.Sprintf("pid %d", m.proc.Process.Pid); !strings.Contains(out.String(), want) {
		t.Errorf("second run's message does not name %q:\n%s", want, out.String())
	}
	// Give a misbehaving second run time to do harm, then look.
	time.Sleep(6 * time.Second)
	st, err := c.status(p)
	if err != nil {
		t.Fatalf("the running daemon's socket after the second run: %v", err)
	}
	if st.Role != "primary" {
		t.Errorf("the running daemon is %s after the second run", st.Role)
	}
	c.waitWorld(p, time.Second)
	for _, call := range c.sim.Calls(seq) {
		// The running primary keeps reading (its reconcile: EC2 Describe
		// calls, Route 53 ListResourceRecordSets); only a write is harm.
		read := strings.HasPrefix(call.Action, "Describe") || strings.HasPrefix(call.Action, "List") || strings.HasPrefix(call.Action, "Get")
		if call.Caller == m.instance && !read {
			t.Errorf("AWS write %s by %s's instance after the second run", call.Action, p)
		}
	}
}
