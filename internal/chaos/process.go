package chaos

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vipd/vipd/internal/simcluster"
)

// duplicate is a second `vipd run` with a member's config.
type duplicate struct {
	proc    *simcluster.Proc
	done    chan struct{} // closed once reaped and its exit recorded
	started time.Time
	exit    Exit
}

// DuplicateName is the name under which a member's second daemon shows in
// the history (its log lines and its end).
func DuplicateName(member string) string { return member + "-duplicate" }

// dupLogPath is where a member's second daemons write their logs.
func (m *Member) dupLogPath() string { return filepath.Join(m.dir, "duplicate.log") }

// StartDuplicate starts a second `vipd run` with the member's config in
// its namespace, as an operator who runs it by hand next to the service
// would. It returns an error if one is running already.
func (c *Cluster) StartDuplicate(name string) error {
	m := c.Member(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dup != nil {
		return fmt.Errorf("start second daemon of %s: one was started already", name)
	}
	// Checked under the lock that Kill and Stop take: a daemon started
	// while the first is exiting gets the lock when it exits and is the
	// first, and the member's own restart is then the second.
	if m.proc == nil || m.killed {
		return fmt.Errorf("start second daemon of %s: its vipd is not running", name)
	}
	p, err := c.startVipd(m, m.dupLogPath())
	if err != nil {
		return fmt.Errorf("start second daemon of %s: %w", name, err)
	}
	d := &duplicate{proc: p, done: make(chan struct{}), started: time.Now()}
	m.dup = d
	go func() {
		<-p.Done()
		m.mu.Lock()
		d.exit.At = time.Now()
		if err := p.Err(); err != nil {
			d.exit.Err = err.Error()
		}
		m.mu.Unlock()
		close(d.done)
	}()
	return nil
}

// StopDuplicate ends a member's second daemon, if one was started since
// the last call: it reports how it ended (Exit.Killed when the harness had
// to stop it, because it was still running) and whether there was one.
// The harness waits up to StopBound after SIGTERM, then kills it.
func (c *Cluster) StopDuplicate(name string) (Duplicate, bool) {
	m := c.Member(name)
	m.mu.Lock()
	d := m.dup
	m.dup = nil
	m.mu.Unlock()
	if d == nil {
		return Duplicate{}, false
	}
	select {
	case <-d.done:
	default:
		m.mu.Lock()
		d.exit.Killed = true
		m.mu.Unlock()
		d.proc.Signal(syscall.SIGTERM)
		t := time.NewTimer(StopBound)
		select {
		case <-d.done:
		case <-t.C:
			d.proc.Signal(syscall.SIGKILL)
			<-d.done
		}
		t.Stop()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return Duplicate{Node: name, Started: d.started, Exit: d.exit}, true
}

// describe says how a second daemon ended.
func (x Exit) describe() string {
	switch {
	case x.Killed:
		return "was still running; stopped"
	case x.Err == "":
		return "exited by itself with status 0"
	default:
		return "exited by itself: " + x.Err
	}
}

// starver runs busy loops pinned to the CPU a member's vipd was pinned
// to, at a higher priority than vipd, until stopped.
type starver struct {
	pid   int
	cpu   int
	loops []*exec.Cmd
	// masks are the threads' CPU sets before pinning, restored at the end.
	masks map[int]unix.CPUSet
}

// starveLoops is how many busy loops share the pinned CPU with vipd, and
// starveNice their niceness: vipd (nice 0, weight 1024) then gets about
// 1024/(1024+3·3121), a tenth of the CPU, as behind a noisy neighbour.
const (
	starveLoops = 3
	starveNice  = -5
)

// Starve pins every thread of the member's vipd to one CPU and starts
// busy loops on that CPU. The returned starver undoes it.
func (c *Cluster) Starve(name string) (*starver, error) {
	m := c.Member(name)
	pid := m.Pid()
	if pid == 0 {
		return nil, fmt.Errorf("starve %s: not running", name)
	}
	cpus := allowedCPUs()
	cpu := cpus[pid%len(cpus)]
	s := &starver{pid: pid, cpu: cpu, masks: map[int]unix.CPUSet{}}
	var one unix.CPUSet
	one.Set(cpu)
	tids, err := threads(pid)
	if err != nil {
		return nil, fmt.Errorf("starve %s: %w", name, err)
	}
	for _, tid := range tids {
		var old unix.CPUSet
		if unix.SchedGetaffinity(tid, &old) != nil {
			continue // the thread is gone
		}
		if unix.SchedSetaffinity(tid, &one) == nil {
			s.masks[tid] = old
		}
	}
	for range starveLoops {
		// One shell looping on a builtin: a single process that never
		// forks, pinned and reniced right after it starts, and killed
		// with the harness if that dies first.
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		// It talks to nothing; it gets no AWS settings either way.
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "AWS_EC2_METADATA_DISABLED=true"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			s.stop()
			return nil, fmt.Errorf("start busy loop: %w", err)
		}
		s.loops = append(s.loops, cmd)
		_ = unix.SchedSetaffinity(cmd.Process.Pid, &one)
		_ = unix.Setpriority(unix.PRIO_PROCESS, cmd.Process.Pid, starveNice)
	}
	return s, nil
}

// stop ends the busy loops and gives vipd's threads their CPUs back.
func (s *starver) stop() {
	for _, cmd := range s.loops {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}
	s.loops = nil
	// Threads started while pinned inherited the one CPU: give every
	// thread the widest mask any had.
	var all unix.CPUSet
	for _, m := range s.masks {
		for cpu := range maxCPUs {
			if m.IsSet(cpu) {
				all.Set(cpu)
			}
		}
	}
	if all.Count() == 0 {
		return
	}
	tids, _ := threads(s.pid)
	for _, tid := range tids {
		_ = unix.SchedSetaffinity(tid, &all)
	}
}

// allowedCPUs lists the CPUs the harness may run on (the host's, here);
// never empty.
func allowedCPUs() []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil || set.Count() == 0 {
		return []int{0}
	}
	var out []int
	for cpu := range maxCPUs {
		if set.IsSet(cpu) {
			out = append(out, cpu)
		}
	}
	return out
}

// threads lists a process's thread IDs.
func threads(pid int) ([]int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, fmt.Errorf("list threads of %d: %w", pid, err)
	}
	var out []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(strings.TrimSpace(e.Name())); err == nil {
			out = append(out, tid)
		}
	}
	return out, nil
}

// maxCPUs is how many CPU IDs unix.CPUSet represents.
const maxCPUs = 1024

// flood is a set of idle connections to a member's cluster port.
type flood struct {
	conns []net.Conn
}

// floodBudget bounds how long opening a flood may take.
const floodBudget = 3 * time.Second

// Flood opens up to n connections to a member's cluster (raft) port, in
// turn from the client's and the other members' namespaces, that never
// send a byte; close ends them. It stops early when the budget runs out
// or dials keep failing, and reports how many it holds.
func (c *Cluster) Flood(ctx context.Context, name string, n int) (*flood, error) {
	m := c.Member(name)
	var from []string
	for _, o := range c.Members {
		if o != m {
			from = append(from, o.InstanceID)
		}
	}
	from = append(from, ClientInstance)
	target := netip.AddrPortFrom(m.Addr, raftPort).String()
	ctx, cancel := context.WithTimeout(ctx, floodBudget)
	defer cancel()
	f := &flood{}
	var failures int
	var lastErr error
	for i := 0; i < n && ctx.Err() == nil && failures < 10; i++ {
		dctx, dcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		conn, err := c.Fab.Dial(dctx, from[i%len(from)], "tcp", target)
		dcancel()
		if err != nil {
			failures++
			lastErr = err
			continue
		}
		f.conns = append(f.conns, conn)
	}
	if len(f.conns) == 0 {
		return nil, fmt.Errorf("flood %s's cluster port: no connection opened: %w", name, lastErr)
	}
	return f, nil
}

func (f *flood) close() {
	for _, c := range f.conns {
		c.Close()
	}
}
