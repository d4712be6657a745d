package bench

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vipd/vipd/internal/vpcsim/netns"
)

// proc is one daemon started in a node's namespace, in its own process
// group so that a kill takes its children (keepalived's VRRP child, a
// running notify script) with it, as the death of its host would.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	err error
}

func startProc(fab *netns.Fabric, instanceID string, env []string, logPath string, args ...string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := fab.Exec(instanceID, cmd); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", args[0], err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// signal sends sig to the process group and, for SIGKILL, waits until the
// leader is reaped (at most 10 s).
func (p *proc) signal(sig syscall.Signal) {
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	if sig != syscall.SIGKILL {
		return
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// wait waits up to d for the process to exit on its own.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *proc) running() bool {
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// groupPIDs lists the live processes of p's process group (the daemon and
// its children), from /proc.
func (p *proc) groupPIDs() []int {
	if !p.running() {
		return nil
	}
	pgid := p.cmd.Process.Pid
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.pgrp != pgid || st.state == "Z" {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// procStat is what the idle benchmark reads of /proc/<pid>/stat and
// /proc/<pid>/status.
type procStat struct {
	state string
	pgrp  int
	// ticks of CPU: own user+system and that of reaped children.
	cpuTicks int64
	rssKiB   int64
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: no command", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	var st procStat
	st.state = f[0]
	st.pgrp, _ = strconv.Atoi(f[2])
	for _, k := range f[11:15] {
		v, _ := strconv.ParseInt(k, 10, 64)
		st.cpuTicks += v
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				v, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
				st.rssKiB = v
			}
		}
	}
	return st, nil
}
