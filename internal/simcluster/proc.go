package simcluster

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Starter starts a prepared command where the cluster runs its members:
// (*exec.Cmd).Start on loopback, or a netns fabric's Exec in the member's
// namespace.
type Starter func(cmd *exec.Cmd) error

// Proc is one process a harness started (a vipd, keepalived, a service),
// in its own process group so that a signal reaches its children too, as
// the death of its host would, and killed with the harness if that dies
// (Linux). Its methods may be called from any goroutine; on a nil *Proc
// they act as on a process that has exited.
type Proc struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu  sync.Mutex
	err error
}

// StartProc runs argv with env, its output appended to logPath, through
// start.
func StartProc(start Starter, env []string, logPath string, argv ...string) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = ProcAttr()
	if err := start(cmd); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &Proc{cmd: cmd, done: make(chan struct{})}
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

// Pid is the process's id (its group's id too); 0 for a nil Proc.
func (p *Proc) Pid() int {
	if p == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Done is closed once the process has exited and been reaped.
func (p *Proc) Done() <-chan struct{} {
	if p == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return p.done
}

// Err is how the process ended (nil for status 0), once Done.
func (p *Proc) Err() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Running reports whether the process has not exited yet.
func (p *Proc) Running() bool {
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}

// Signal sends sig to the process group.
func (p *Proc) Signal(sig syscall.Signal) {
	if p.Running() {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// Kill SIGKILLs the process group and waits until the process is reaped
// (at most 10 s: a process in uninterruptible sleep may take that long).
func (p *Proc) Kill() {
	p.Signal(syscall.SIGKILL)
	p.Wait(10 * time.Second)
}

// Wait waits up to d for the process to exit; it reports whether it did.
func (p *Proc) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.Done():
		return true
	case <-t.C:
		return false
	}
}

// Stop is a planned stop: SIGTERM, and SIGKILL if the process has not
// exited within grace. It returns once the process is gone, saying
// whether it had to be killed.
func (p *Proc) Stop(grace time.Duration) (killed bool) {
	if !p.Running() {
		return false
	}
	p.Signal(syscall.SIGTERM)
	if p.Wait(grace) {
		return false
	}
	p.Kill()
	return true
}
