package simcluster

import (
	"fmt"
	"os"
	"path/filepath"
)

// busyLimit bounds each busy loop of a busy host in case the harness dies
// before it stops them (seconds, for timeout(1)).
const busyLimit = "600"

// busyHost starts n busy-loop processes on a host (in its namespace on
// the netns fabric), each in its own process group, competing with the
// daemons for the machine's cores as a busy neighbour on that host would;
// stop kills them.
func (c *Cluster) busyHost(name string, n int) (stop func(), err error) {
	h := c.Host(name)
	var procs []*Proc
	stop = func() {
		for _, p := range procs {
			p.Kill()
		}
	}
	for i := range n {
		p, err := StartProc(c.Fab.Starter(h.InstanceID), []string{"PATH=" + os.Getenv("PATH")}, filepath.Join(h.Dir, "busy.log"),
			"timeout", busyLimit, "sh", "-c", "while :; do :; done")
		if err != nil {
			stop()
			return nil, fmt.Errorf("start busy loop %d on %s: %w", i+1, name, err)
		}
		procs = append(procs, p)
	}
	return stop, nil
}
