package simcluster

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

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
	pid := c.Host(name).Pid()
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
