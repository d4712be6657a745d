package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vipd/vipd/internal/simcluster"
)

// groupPIDs lists the live processes of p's process group (the daemon and
// its children), from /proc.
func groupPIDs(p *simcluster.Proc) []int {
	if !p.Running() {
		return nil
	}
	pgid := p.Pid()
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
	// anonKiB is the part of rssKiB that is the process's own memory
	// (heap, stacks); the rest are pages of files it maps, its executable
	// first, which it shares with the page cache.
	anonKiB int64
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
			if rest, ok := strings.CutPrefix(line, "RssAnon:"); ok {
				v, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
				st.anonKiB = v
			}
		}
	}
	return st, nil
}
