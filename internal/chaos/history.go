package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
)

// Poll is one `vipd status` answer (or failure) of a node.
type Poll struct {
	Node      string
	Req, Resp time.Time // the answer was computed between the two
	OK        bool
	Role      string
	// Quorum: the member's election runs and hears a quorum.
	Quorum   bool
	Held     bool
	Token    uint64
	ValidFor time.Duration
}

// Reach is one client attempt through the VIP.
type Reach struct {
	At   time.Time
	Node string // who answered; "" on error
	Err  string
}

// FaultEvent is a fault injected (On) or undone.
type FaultEvent struct {
	At time.Time
	// Index is the step's position in the schedule: it pairs an On with
	// its undo.
	Index int
	Step  Step
	On    bool
	// Note says what the injection did ("SIGTERM", "300 idle
	// connections open").
	Note string
	Err  string
}

// LogEvent is one lease line of a node's own log.
type LogEvent struct {
	At    time.Time
	Node  string
	Msg   string // "lease granted", "lease lost", "election started"
	Token uint64
	Why   string
	// Lapsed is, on a "lease lost" line for an expired grant, how long
	// before the line the grant had run out.
	Lapsed time.Duration
}

// History is everything a run observed, for the checker and the timeline.
type History struct {
	Start, FaultsEnd, End time.Time
	// Lease is the members' election lease.
	Lease time.Duration

	mu      sync.Mutex
	Polls   []Poll
	Reaches []Reach
	Faults  []FaultEvent
	Logs    []LogEvent
	Exits   map[string][]simcluster.Exit
	// Procs is what the harness did to each member's process: starts,
	// pauses, resumes and planned stops.
	Procs      map[string][]simcluster.ProcEvent
	Stops      []simcluster.StopResult
	Duplicates []simcluster.Duplicate
	Calls      []vpcsim.Call
	// Fence is whether the members ran with STONITH (Options.Fence);
	// Sights is then vpcsim's instance states and interface attachment
	// over time (superviseFences).
	Fence  bool
	Sights []Sight
	// ConvergedAt is when the world first matched the holder after the
	// faults stopped (zero if it never did); Holder is that node.
	ConvergedAt time.Time
	Holder      string
}

func (h *History) addPoll(p Poll) {
	h.mu.Lock()
	h.Polls = append(h.Polls, p)
	h.mu.Unlock()
}

func (h *History) addReach(r Reach) {
	h.mu.Lock()
	h.Reaches = append(h.Reaches, r)
	h.mu.Unlock()
}

func (h *History) addFault(f FaultEvent) {
	h.mu.Lock()
	h.Faults = append(h.Faults, f)
	h.mu.Unlock()
}

// record polls every member's status and sends a client request through the
// VIP, every interval, until ctx is done.
func record(ctx context.Context, c *Cluster, h *History, interval time.Duration) {
	var wg sync.WaitGroup
	for _, m := range c.Hosts {
		wg.Go(func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				p := poll(ctx, m)
				if ctx.Err() != nil {
					return
				}
				h.addPoll(p)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		})
	}
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			node, err := c.Reach(ctx)
			if ctx.Err() != nil {
				return
			}
			r := Reach{At: time.Now(), Node: node}
			if err != nil {
				r.Err = err.Error()
			}
			h.addReach(r)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	wg.Wait()
}

// poll asks a member for its status.
func poll(ctx context.Context, m *simcluster.Host) Poll {
	req := time.Now()
	st, err := m.Status(ctx)
	p := Poll{Node: m.Name, Req: req, Resp: time.Now(), OK: err == nil}
	if err == nil {
		p.Role, p.Quorum, p.Held, p.Token = st.Role, st.Quorum, st.LeaseHeld, st.Token
		p.ValidFor, _ = time.ParseDuration(st.LeaseValid)
	}
	return p
}

// readLog extracts the lease lines of a node's JSON log. Lines that are
// not JSON (a panic's stack, say) are skipped; they show in the log file.
func readLog(node, path string) ([]LogEvent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read %s log: %w", node, err)
	}
	defer f.Close()
	var out []LogEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Time   time.Time `json:"time"`
			Msg    string    `json:"msg"`
			Token  uint64    `json:"token"`
			Reason string    `json:"reason"`
			Lapsed string    `json:"lapsed"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		switch l.Msg {
		case "lease granted", "lease lost", "election started":
			lapsed, _ := time.ParseDuration(l.Lapsed)
			out = append(out, LogEvent{At: l.Time, Node: node, Msg: l.Msg, Token: l.Token, Why: l.Reason, Lapsed: lapsed})
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read %s log: %w", node, err)
	}
	return out, nil
}

// DuplicateName is the name under which a member's second daemon shows in
// the history (its log lines and its end).
func DuplicateName(member string) string { return member + "-duplicate" }
