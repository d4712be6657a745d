package simcluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/vipd/vipd/internal/admin"
)

// Host is one simulated instance of a Cluster: its member's identity and
// directory, its network interface and address, its service, and the
// daemon the harness runs there (vipd, unless Daemon says otherwise),
// with what was done to that daemon.
type Host struct {
	Member
	// ENI and Addr are the instance's primary network interface and
	// private address.
	ENI  string
	Addr netip.Addr
	// Daemon, when set before Start, is what runs on the host instead of
	// `vipd run` with its configuration (the benchmarks' keepalived).
	Daemon *Daemon

	c          *Cluster
	api, imds  string
	admin      *admin.Client
	daemonless bool

	mu     sync.Mutex
	proc   *Proc
	done   chan struct{} // closed when proc has been reaped and its exit recorded
	killed bool          // the harness killed or stopped it on purpose
	paused bool          // proc is SIGSTOPped
	exits  []Exit
	events []ProcEvent
	stops  []StopResult
	svc    *Service
	dup    *duplicate
	dups   []Duplicate
}

// Daemon is a process a harness runs on a host: its command line and
// environment, its output appended to Log.
type Daemon struct {
	Argv []string
	Env  []string
	Log  string
}

// Exit is one end of a host's daemon.
type Exit struct {
	At     time.Time
	Killed bool // by the harness (kill -9, SIGTERM or Close)
	Err    string
}

// Describe says how a second daemon ended.
func (x Exit) Describe() string {
	switch {
	case x.Killed:
		return "was still running; stopped"
	case x.Err == "":
		return "exited by itself with status 0"
	default:
		return "exited by itself: " + x.Err
	}
}

// ProcEvent is something the harness did to a host's daemon.
type ProcEvent struct {
	At   time.Time
	What string // ProcStart, ProcPause, ProcResume, ProcTerm
}

// The ProcEvent kinds.
const (
	ProcStart  = "start"
	ProcPause  = "pause"
	ProcResume = "resume"
	ProcTerm   = "term"
)

// StopResult is how a planned stop went: SIGTERM sent At, the process
// gone Took later, Forced when it had to be killed after the bound.
type StopResult struct {
	Node   string
	At     time.Time
	Took   time.Duration
	Forced bool
}

// StopBound is how long a vipd may take to exit after SIGTERM before the
// harness kills it: the notify hook timeout (10 s, the default, which the
// stop hook may use up) and the release's bounded steps.
const StopBound = 20 * time.Second

// daemon is what Start runs on h.
func (h *Host) daemon() Daemon {
	if h.Daemon != nil {
		return *h.Daemon
	}
	return Daemon{Argv: []string{h.c.o.Exe, "run", "--config", h.ConfigPath()}, Env: Env(h.Member, h.api, h.imds), Log: h.LogPath()}
}

// Hook is the notify script the cluster writes for every node: it drains
// its JSON event and returns at once, unless the host's hooks are made to
// hang (HangHooks). Harnesses name it in the configuration's notify
// section to give the hook-hang fault something to hang.
func (h *Host) Hook() string { return filepath.Join(h.Dir, "notify.sh") }

func (h *Host) hangFlag() string { return filepath.Join(h.Dir, "hooks-hang") }

// hookScript waits while flag exists, so that a hung hook never outlives
// the fault, whoever kills vipd.
func hookScript(flag string) string {
	return fmt.Sprintf("#!/bin/sh\ncat >/dev/null\nwhile [ -e %q ]; do sleep 0.1; done\n", flag)
}

// HangHooks makes the host's notify hooks wait (on) or lets them return
// (off).
func (h *Host) HangHooks(on bool) error {
	if h.Witness {
		if on {
			return fmt.Errorf("hang hooks of %s: the witness runs no hooks", h.Name)
		}
		return nil
	}
	if !on {
		if err := os.Remove(h.hangFlag()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("let %s's hooks return: %w", h.Name, err)
		}
		return nil
	}
	if err := os.WriteFile(h.hangFlag(), nil, 0o600); err != nil {
		return fmt.Errorf("hang %s's hooks: %w", h.Name, err)
	}
	return nil
}

// ServiceAddr is where the node's health check reaches its service.
func (h *Host) ServiceAddr() string {
	h.mu.Lock()
	svc := h.svc
	h.mu.Unlock()
	if svc != nil {
		if ap := svc.Addr(); ap.IsValid() && !ap.Addr().IsUnspecified() {
			return ap.String()
		}
	}
	return fmt.Sprintf("127.0.0.1:%d", h.c.o.ServicePort)
}

// Status asks the host's daemon for its status. One client serves every
// call: it keeps its connection open between them, where a client per
// call would leave an idle one behind each time and soon meet the
// socket's connection limit.
func (h *Host) Status(ctx context.Context) (admin.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, h.c.o.StatusTimeout)
	defer cancel()
	return h.admin.Status(ctx)
}

// Switchover asks the host's daemon to hand the address to node to.
func (h *Host) Switchover(ctx context.Context, to string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return h.admin.Switchover(ctx, to)
}

// Running reports whether the host's daemon is running and the harness
// has not asked it to end: a process on its way out after SIGTERM (which
// may take the stop hook's timeout) is not one a fault on a running host
// should find.
func (h *Host) Running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.proc != nil && !h.killed
}

// Paused reports whether the host's daemon is SIGSTOPped.
func (h *Host) Paused() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.paused
}

// Proc returns the host's running daemon (nil if none).
func (h *Host) Proc() *Proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.proc
}

// Pid is the process ID of the host's daemon (0 if none runs).
func (h *Host) Pid() int { return h.Proc().Pid() }

// Events returns what the harness did to the host's daemon so far.
func (h *Host) Events() []ProcEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]ProcEvent(nil), h.events...)
}

// Exits returns the ends of the host's daemons so far.
func (h *Host) Exits() []Exit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Exit(nil), h.exits...)
}

// Stops returns the planned stops of the host's daemon so far.
func (h *Host) Stops() []StopResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]StopResult(nil), h.stops...)
}

// Start starts a host's daemon if it is not running.
func (c *Cluster) Start(name string) error {
	h := c.Host(name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc != nil {
		return nil
	}
	d := h.daemon()
	p, err := StartProc(c.Fab.Starter(h.InstanceID), d.Env, d.Log, d.Argv...)
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	done := make(chan struct{})
	h.proc, h.done, h.killed, h.paused = p, done, false, false
	h.events = append(h.events, ProcEvent{At: time.Now(), What: ProcStart})
	go func() {
		<-p.Done()
		h.mu.Lock()
		e := Exit{At: time.Now(), Killed: h.killed}
		if err := p.Err(); err != nil {
			e.Err = err.Error()
		}
		h.exits = append(h.exits, e)
		h.proc, h.paused = nil, false
		h.mu.Unlock()
		close(done)
	}()
	return nil
}

// Kill SIGKILLs a host's daemon (its process group) and returns once it
// is reaped, with the time it was seen dead.
func (c *Cluster) Kill(name string) time.Time {
	h := c.Host(name)
	h.mu.Lock()
	p, done := h.proc, h.done
	if p != nil {
		h.killed = true
		p.Signal(syscall.SIGKILL)
	}
	h.mu.Unlock()
	if p == nil {
		return time.Now()
	}
	<-done
	return time.Now()
}

// Stop sends SIGTERM to a host's daemon (a planned stop) and waits up to
// bound for it to exit, then kills it. A paused daemon is resumed right
// after the signal, since a stopped process cannot act on it. Nothing
// running: the zero result, not recorded.
func (c *Cluster) Stop(name string, bound time.Duration) StopResult {
	h := c.Host(name)
	h.mu.Lock()
	p, done := h.proc, h.done
	start := time.Now()
	if p != nil {
		h.killed = true
		h.events = append(h.events, ProcEvent{At: start, What: ProcTerm})
		p.Signal(syscall.SIGTERM)
		if h.paused {
			h.paused = false
			h.events = append(h.events, ProcEvent{At: time.Now(), What: ProcResume})
			p.Signal(syscall.SIGCONT)
		}
	}
	h.mu.Unlock()
	if p == nil {
		return StopResult{}
	}
	r := StopResult{Node: name, At: start}
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		r.Forced = true
		p.Signal(syscall.SIGKILL)
		<-done
	}
	r.Took = time.Since(start)
	h.mu.Lock()
	h.stops = append(h.stops, r)
	h.mu.Unlock()
	return r
}

// Pause SIGSTOPs a host's daemon; it reports false if none is running or
// it is paused already.
func (c *Cluster) Pause(name string) bool {
	h := c.Host(name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc == nil || h.paused {
		return false
	}
	h.paused = true
	h.events = append(h.events, ProcEvent{At: time.Now(), What: ProcPause})
	h.proc.Signal(syscall.SIGSTOP)
	return true
}

// Resume SIGCONTs a host's daemon if it is paused.
func (c *Cluster) Resume(name string) {
	h := c.Host(name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc == nil || !h.paused {
		return
	}
	h.paused = false
	h.proc.Signal(syscall.SIGCONT)
	h.events = append(h.events, ProcEvent{At: time.Now(), What: ProcResume})
}

// waitRunning waits up to d for a host's daemon to run unpaused (a kill or
// restart may have it down for a moment), so that a fault on its process
// finds one; it says how long it waited.
func waitRunning(ctx context.Context, h *Host, d time.Duration) string {
	note, _ := waitHost(ctx, d, "run", func() bool { return h.Running() && !h.Paused() })
	return note
}

// waitUp waits up to d for a host's vipd to run unpaused and answer on
// its admin socket, which it opens only after it holds the instance lock;
// it says how long it waited and whether it is up.
func waitUp(ctx context.Context, h *Host, d time.Duration) (string, bool) {
	return waitHost(ctx, d, "be up", func() bool {
		if !h.Running() || h.Paused() {
			return false
		}
		_, err := h.Status(ctx)
		return err == nil
	})
}

// waitHost polls ready every 50 ms for up to d (less if ctx ends), and
// says how long it waited for the host to do what, or that it never did.
func waitHost(ctx context.Context, d time.Duration, what string, ready func() bool) (string, bool) {
	start := time.Now()
	for !ready() {
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if time.Since(start) >= d || ctx.Err() != nil {
			return fmt.Sprintf("did not %s within %s; ", what, time.Since(start).Round(time.Millisecond)), false
		}
	}
	if waited := time.Since(start); waited >= 50*time.Millisecond {
		return fmt.Sprintf("waited %s for it to %s; ", waited.Round(time.Millisecond), what), true
	}
	return "", true
}

// duplicate is a second daemon with a host's configuration.
type duplicate struct {
	proc    *Proc
	done    chan struct{} // closed once reaped and its exit recorded
	started time.Time
	exit    Exit
}

// Duplicate is a second daemon started with a host's configuration, and
// how it ended.
type Duplicate struct {
	Node    string
	Started time.Time
	Exit    Exit
}

// DuplicateLog is where a host's second daemons write their logs.
func (h *Host) DuplicateLog() string { return filepath.Join(h.Dir, "duplicate.log") }

// Duplicates returns the second daemons started on the host and ended
// so far.
func (h *Host) Duplicates() []Duplicate {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Duplicate(nil), h.dups...)
}

// StartDuplicate starts a second daemon with the host's configuration,
// as an operator who runs it by hand next to the service would. It
// returns an error if one is running already.
func (c *Cluster) StartDuplicate(name string) error {
	h := c.Host(name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dup != nil {
		return fmt.Errorf("start second daemon of %s: one was started already", name)
	}
	// Checked under the lock that Kill and Stop take: a daemon started
	// while the first is exiting gets the lock when it exits and is the
	// first, and the host's own restart is then the second.
	if h.proc == nil || h.killed {
		return fmt.Errorf("start second daemon of %s: its daemon is not running", name)
	}
	d := h.daemon()
	p, err := StartProc(c.Fab.Starter(h.InstanceID), d.Env, h.DuplicateLog(), d.Argv...)
	if err != nil {
		return fmt.Errorf("start second daemon of %s: %w", name, err)
	}
	dup := &duplicate{proc: p, done: make(chan struct{}), started: time.Now()}
	h.dup = dup
	go func() {
		<-p.Done()
		h.mu.Lock()
		dup.exit.At = time.Now()
		if err := p.Err(); err != nil {
			dup.exit.Err = err.Error()
		}
		h.mu.Unlock()
		close(dup.done)
	}()
	return nil
}

// StopDuplicate ends a host's second daemon, if one was started since
// the last call: it reports how it ended (Exit.Killed when the harness had
// to stop it, because it was still running) and whether there was one;
// the host keeps it in Duplicates. The harness waits up to StopBound
// after SIGTERM, then kills it.
func (c *Cluster) StopDuplicate(name string) (Duplicate, bool) {
	h := c.Host(name)
	h.mu.Lock()
	d := h.dup
	h.dup = nil
	h.mu.Unlock()
	if d == nil {
		return Duplicate{}, false
	}
	select {
	case <-d.done:
	default:
		h.mu.Lock()
		d.exit.Killed = true
		h.mu.Unlock()
		d.proc.Signal(syscall.SIGTERM)
		if !d.proc.Wait(StopBound) {
			d.proc.Signal(syscall.SIGKILL)
			<-d.done
		}
		<-d.done
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := Duplicate{Node: name, Started: d.started, Exit: d.exit}
	h.dups = append(h.dups, out)
	return out, true
}
