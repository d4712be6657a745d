package bench

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vipd/vipd/internal/simcluster"
)

// starveLimit bounds each busy loop of a CPU-starving competitor in case the
// benchmark dies before it stops them (seconds, for timeout(1)).
const starveLimit = "600"

// competitor is a CPU-starving competitor on a node's host: busy-loop
// processes in the node's network namespace, each in its own process group,
// competing with the daemons for the machine's cores as a busy neighbour on
// the primary's host would.
type competitor struct {
	dir   string
	procs []*simcluster.Proc
}

// startCompetitor starts n busy loops on node's host.
func startCompetitor(e *env, n node, count int) (*competitor, error) {
	dir, err := tempDir("vipd-bench-starve-")
	if err != nil {
		return nil, err
	}
	c := &competitor{dir: dir}
	for i := range count {
		p, err := startProc(e.fab, n.InstanceID, []string{"PATH=" + os.Getenv("PATH")}, filepath.Join(dir, "spin.log"),
			"timeout", starveLimit, "sh", "-c", "while :; do :; done")
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("start busy loop %d on %s: %w", i+1, n.Name, err)
		}
		c.procs = append(c.procs, p)
	}
	return c, nil
}

// stop kills the busy loops and waits for them.
func (c *competitor) stop() {
	for _, p := range c.procs {
		p.Kill()
	}
	_ = os.RemoveAll(c.dir)
}
