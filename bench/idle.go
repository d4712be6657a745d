package bench

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// IdleResult is one system's cost while nothing happens.
type IdleResult struct {
	System string        `json:"system"`
	Window time.Duration `json:"window_ns"`
	// Per role: "primary", "backup".
	Nodes []IdleNode `json:"nodes"`
}

// IdleNode is one node's daemon (with its children) over the window.
type IdleNode struct {
	Role string `json:"role"`
	// CPUPercent is of one core: user+system of the daemon's processes and
	// of the children they reaped (keepalived's check and notify scripts).
	CPUPercent float64 `json:"cpu_percent"`
	// MaxRSSMiB is the largest sum of the processes' resident sets seen.
	MaxRSSMiB float64 `json:"max_rss_mib"`
	// MaxAnonMiB is the largest sum of their anonymous resident memory
	// (RssAnon: heap, stacks) seen; the rest of the RSS is mapped files,
	// mostly the executable, shared with the page cache.
	MaxAnonMiB float64 `json:"max_anon_mib"`
	// CallsPerMin are the node's EC2 calls per minute.
	CallsPerMin float64 `json:"calls_per_min"`
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times; 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// measureIdle watches the settled system for window, sampling every 2 s.
func measureIdle(ctx context.Context, e *env, sys system, dst netip.Prefix, tables []string, window time.Duration) (IdleResult, error) {
	res := IdleResult{System: sys.Name(), Window: window}
	primary, err := stableMaster(ctx, e, sys, dst, tables)
	if err != nil {
		return res, fmt.Errorf("idle %s: %w", sys.Name(), err)
	}
	// Let start-up work (first acquire, check rise) pass.
	sleepCtx(ctx, 3*time.Second)
	roles := []struct{ role, node string }{{"primary", primary}, {"backup", e.peer(primary)}}
	ticks := func(node string) (cpu, rss, anon int64) {
		for _, pid := range sys.pids(node) {
			if st, err := readStat(pid); err == nil {
				cpu += st.cpuTicks
				rss += st.rssKiB
				anon += st.anonKiB
			}
		}
		return cpu, rss, anon
	}
	start := make([]int64, len(roles))
	maxRSS := make([]int64, len(roles))
	maxAnon := make([]int64, len(roles))
	for i, r := range roles {
		start[i], maxRSS[i], maxAnon[i] = ticks(r.node)
	}
	seq := e.lastSeq()
	t0 := time.Now()
	for time.Since(t0) < window && ctx.Err() == nil {
		sleepCtx(ctx, min(2*time.Second, window-time.Since(t0)))
		for i, r := range roles {
			_, rss, anon := ticks(r.node)
			maxRSS[i] = max(maxRSS[i], rss)
			maxAnon[i] = max(maxAnon[i], anon)
		}
	}
	took := time.Since(t0)
	calls := e.srv.Calls(seq)
	for i, r := range roles {
		end, _, _ := ticks(r.node)
		n := 0
		for _, c := range calls {
			if c.Service == "ec2" && c.Caller == e.node(r.node).InstanceID {
				n++
			}
		}
		res.Nodes = append(res.Nodes, IdleNode{
			Role:        r.role,
			CPUPercent:  100 * float64(end-start[i]) / clockTicks / took.Seconds(),
			MaxRSSMiB:   float64(maxRSS[i]) / 1024,
			MaxAnonMiB:  float64(maxAnon[i]) / 1024,
			CallsPerMin: float64(n) / took.Minutes(),
		})
	}
	return res, nil
}
