package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
)

// LoopOptions configures RestartLoop.
type LoopOptions struct {
	Cluster Options
	// Kills and Stops are how many rounds kill the primary with SIGKILL
	// and how many pause it with SIGSTOP for longer than the lease; they
	// are spread evenly over the run.
	Kills, Stops int
	// Progress, if set, is called after every round.
	Progress func(LoopRound)
}

// LoopRound is one round of RestartLoop.
type LoopRound struct {
	N      int
	Fault  string // "kill" or "stop-cont"
	Node   string
	Took   time.Duration
	Failed string // why the node could not start again ("" if it did)
}

// LoopReport is what RestartLoop did.
type LoopReport struct {
	Kills, Stops int
	// Unable are the rounds after which the node could not start again.
	Unable []LoopRound
	// Stalls are rounds in which no other node took over, or the cluster
	// did not settle before the next round; they are not starts that
	// failed, but say the loop measured less than asked.
	Stalls []string
	// Clusters is how many clusters were started: a fresh one after each
	// failure, since a node that cannot start needs an operator.
	Clusters int
	Took     time.Duration
}

func (r *LoopReport) String() string {
	return fmt.Sprintf("restart-loop: %d kill -9s and %d SIGSTOPs of the primary, each followed by a restart: %d nodes unable to start, %d stalled rounds, %d clusters, took %s",
		r.Kills, r.Stops, len(r.Unable), len(r.Stalls), r.Clusters, r.Took.Round(time.Second))
}

// loopSettle bounds how long a round waits for a new primary, and for
// the cluster to settle (one holder, the other node back as backup).
const loopSettle = 20 * time.Second

// RestartLoop hits the current primary Kills times with kill -9 and Stops
// times with SIGSTOP longer than the lease (then SIGCONT), each time
// waits for the other node to take over, then restarts the node (a
// start after the kill; SIGTERM and a start after the pause, since the
// resumed process is the one whose raft log was just truncated) and
// checks that it is back within RejoinBound: backup or primary, its
// election in touch with a quorum (Poll.Back). A node that is not is
// counted, and the loop goes on with a new cluster.
func RestartLoop(ctx context.Context, o LoopOptions) (*LoopReport, error) {
	rep := &LoopReport{}
	start := time.Now()
	defer func() { rep.Took = time.Since(start) }()
	var c *Cluster
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	total := o.Kills + o.Stops
	for n := range total {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		if c == nil {
			var err error
			if c, err = Start(ctx, o.Cluster); err != nil {
				return rep, err
			}
			rep.Clusters++
		}
		// Stops spread evenly among the kills.
		stop := (n+1)*o.Stops/max(total, 1) > n*o.Stops/max(total, 1)
		r, err := loopRound(ctx, c, n, stop)
		if err != nil {
			rep.Stalls = append(rep.Stalls, fmt.Sprintf("round %d: %v", n+1, err))
			c.Close()
			c = nil
			continue
		}
		if stop {
			rep.Stops++
		} else {
			rep.Kills++
		}
		if o.Progress != nil {
			o.Progress(r)
		}
		if r.Failed != "" {
			rep.Unable = append(rep.Unable, r)
			c.Close()
			c = nil
		}
	}
	return rep, nil
}

// loopRound runs one round. An error means the round could not be run as
// meant (no primary, no takeover); a node that does not come back is
// reported in the round.
func loopRound(ctx context.Context, c *Cluster, n int, stop bool) (LoopRound, error) {
	began := time.Now()
	holder, err := settle(ctx, c)
	if err != nil {
		return LoopRound{}, err
	}
	other := "a"
	if holder == "a" {
		other = "b"
	}
	r := LoopRound{N: n + 1, Fault: string(KindKill), Node: holder}
	if stop {
		r.Fault = string(KindStopCont)
		c.Pause(holder)
	} else {
		c.Kill(holder)
	}
	took := waitFor(ctx, loopSettle, func() bool { return c.Holder(ctx) == other })
	if stop {
		// Paused past the lease in any case, then woken: it finds its
		// lease gone and its raft log's uncommitted tail is cleared.
		if rest := 2*c.o.Lease - took; rest > 0 {
			sleep(ctx, rest)
		}
		c.Resume(holder)
		waitFor(ctx, loopSettle, func() bool { return back(ctx, c.Host(holder)) })
		c.Stop(holder, simcluster.StopBound)
	}
	if took >= loopSettle {
		_ = c.Start(holder)
		return r, fmt.Errorf("%s of primary %s: %s did not take over within %s", r.Fault, holder, other, loopSettle)
	}
	if err := c.Start(holder); err != nil {
		return r, err
	}
	m := c.Host(holder)
	ok := false
	waitFor(ctx, RejoinBound, func() bool {
		ok = back(ctx, m)
		return ok || !m.Running()
	})
	r.Took = time.Since(began)
	if !ok {
		r.Failed = lastError(m)
	}
	return r, nil
}

// settle waits for one holder and every member answering in a role it
// came back to, and returns the holder.
func settle(ctx context.Context, c *Cluster) (string, error) {
	var holder string
	waitFor(ctx, loopSettle, func() bool {
		holder = c.Holder(ctx)
		if holder == "" {
			return false
		}
		for _, m := range c.Hosts {
			if !back(ctx, m) {
				return false
			}
		}
		return true
	})
	if holder == "" {
		return "", fmt.Errorf("no primary within %s", loopSettle)
	}
	return holder, nil
}

// back reports whether a member answers as back (Poll.Back).
func back(ctx context.Context, m *simcluster.Host) bool { return poll(ctx, m).Back() }

// waitFor polls cond every 50 ms until it holds or d passes, and returns
// how long it waited.
func waitFor(ctx context.Context, d time.Duration, cond func() bool) time.Duration {
	start := time.Now()
	for time.Since(start) < d && !cond() {
		if !sleep(ctx, 50*time.Millisecond) {
			break
		}
	}
	return time.Since(start)
}

// lastError describes why a member is not back: the last error its log
// has, with whether the process is still running.
func lastError(m *simcluster.Host) string {
	state := "exited"
	if m.Running() {
		state = "running but not back as backup or primary with a quorum"
	}
	f, err := os.Open(m.LogPath())
	if err != nil {
		return state
	}
	defer f.Close()
	var last string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Level, Msg, Err string
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Level == "ERROR" {
			last = strings.TrimSpace(l.Msg + ": " + l.Err)
		} else if !strings.HasPrefix(sc.Text(), "{") && strings.Contains(sc.Text(), "rror") {
			last = strings.TrimSpace(sc.Text())
		}
	}
	if last == "" {
		return state
	}
	return state + "; " + last
}
