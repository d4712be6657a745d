package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/simcluster"
)

// Kind names a fault of the simulated cluster's catalogue
// (simcluster.Faults) that schedules draw: each is one value that the
// catalogue knows how to inject and heal (etcd's failpoints, as style.md
// describes).
type Kind string

// The faults a schedule draws from.
const (
	// KindKill SIGKILLs a member's vipd and restarts it when the step ends.
	KindKill Kind = simcluster.FaultKill
	// KindPartition drops all traffic between two members (fabric rules).
	KindPartition Kind = simcluster.FaultPartition
	// KindCutAPI cuts a node's path to the EC2 API (the fabric's proxy).
	KindCutAPI Kind = simcluster.FaultCutAPI
	// KindCutOff cuts a node off from the other members and from the EC2
	// API while its vipd runs on: it cannot let go of what it holds. With
	// Options.Fence the next holder stops its instance before it takes
	// an interface from it.
	KindCutOff Kind = simcluster.FaultCutOff
	// KindCallerCutoff makes vpcsim drop every call of a node unanswered.
	KindCallerCutoff Kind = simcluster.FaultCallerCutoff
	// KindCutIMDS cuts a node's path to its metadata service.
	KindCutIMDS Kind = simcluster.FaultCutIMDS
	// KindLatency delays EC2 calls (vpcsim latency fault).
	KindLatency Kind = simcluster.FaultLatency
	// Kind5xx answers EC2 calls with InternalError (HTTP 500).
	Kind5xx Kind = simcluster.Fault5xx
	// KindThrottle answers EC2 calls with RequestLimitExceeded (HTTP 503).
	KindThrottle Kind = simcluster.FaultThrottle
	// KindHang holds EC2 calls unanswered for the step's duration.
	KindHang Kind = simcluster.FaultHang
	// KindStopCont SIGSTOPs a member's vipd for longer than the lease, then
	// SIGCONTs it: a paused VM or a process stalled in the kernel, which
	// wakes up believing it still holds what it held.
	KindStopCont Kind = simcluster.FaultPause
	// KindRestart stops a member with SIGTERM (a planned stop, as systemd
	// does), waits for it to exit and starts it again after For. Schedules
	// often aim one right after a stop-cont or kill of the holder, when
	// raft has just truncated the member's uncommitted log tail.
	KindRestart Kind = simcluster.FaultRestart
	// KindHookHang makes the member's notify hooks never return (they
	// wait on a flag file the step removes when it ends). With Stop, the
	// member is also stopped with SIGTERM while its hooks hang, and
	// started again once it exits.
	KindHookHang Kind = simcluster.FaultHookHang
	// KindPortFlood opens Conns idle connections (that never send a
	// byte) to a member's cluster port from the other namespaces, and
	// closes them when the step ends.
	KindPortFlood Kind = simcluster.FaultPortFlood
	// KindDuplicateDaemon starts a second `vipd run` with the member's
	// config, as an operator's mistake would, and stops it when the step
	// ends if it is still running.
	KindDuplicateDaemon Kind = simcluster.FaultDuplicateDaemon
	// KindCPUStarve pins the member's vipd to one CPU and runs busy loops
	// on that CPU at a higher priority, so that vipd gets a small share of
	// it for the step.
	KindCPUStarve Kind = simcluster.FaultCPUStarve
	// KindIMDSSlow delays every request to the member's metadata service
	// by Latency.
	KindIMDSSlow Kind = simcluster.FaultIMDSSlow
	// KindLateWrite makes vpcsim hold a node's mutating EC2 calls (one
	// action or any) until the client gives up, answer 503, and apply the
	// mutation Latency later all the same, as AWS may apply a request its
	// client timed out on.
	KindLateWrite Kind = simcluster.FaultLateWrite
)

// LateWriteMax bounds how late a late-write applies a mutation after its
// client gave up: the margin vipd keeps between its writes and the end of
// its grant for the suite's 1 s lease (fence.Margin). Within it, no write
// under an older token may take effect after one under a newer token;
// later than that, vipd relies on the new holder's reconcile to repair it
// (internal/fence), which the suite checks as convergence.
var LateWriteMax = fence.Margin(time.Second)

// Symbolic targets, resolved when a step starts.
const (
	Holder = "holder"
	Other  = "other"
)

// Kinds lists every fault kind in a fixed order; Generate rotates through
// it so that consecutive seeds cover every kind (see Rotation).
var Kinds = []Kind{KindKill, KindPartition, KindCutAPI, KindCallerCutoff, KindCutIMDS, KindLatency, Kind5xx,
	KindThrottle, KindHang, KindStopCont, KindRestart, KindHookHang, KindPortFlood, KindDuplicateDaemon,
	KindCPUStarve, KindIMDSSlow, KindLateWrite, KindCutOff}

// weighted draws kills, partitions, pauses and restarts twice as often as
// the rest: they are the faults that move the lease or truncate raft logs.
var weighted = append(slices.Clone(Kinds), KindKill, KindPartition, KindStopCont, KindRestart)

// PerSchedule is how many kinds of the rotation each schedule is sure to
// contain: schedule seed s contains Kinds[(PerSchedule·s + j) mod
// len(Kinds)] for j < PerSchedule (when it has that many steps), so any
// Rotation() consecutive seeds cover every kind.
const PerSchedule = 2

// Rotation is how many consecutive seeds are sure to inject every kind.
func Rotation() int { return (len(Kinds) + PerSchedule - 1) / PerSchedule }

// Step is one fault: injected At after the schedule starts, undone For
// later.
type Step struct {
	At, For time.Duration
	Kind    Kind
	// Target is a member name ("a", "b", "witness"), or Holder or Other
	// (the node holding the lease when the step starts, and the other
	// node), so that schedules hit the primary often; for EC2 faults it may
	// be "" (every caller). The timeline shows the name it resolved to.
	Target string
	// Follows, when not 0, is the 1-based index of an earlier step whose
	// resolved target this step hits: a restart right after a stop-cont
	// of whoever held the lease then.
	Follows int
	// Peer is the other side of a partition.
	Peer string
	// Action narrows an EC2 fault to one action ("" = any).
	Action string
	// Latency is a latency or imds-slow fault's delay, or how late a
	// late-write applies the mutation.
	Latency time.Duration
	// Stop makes a hook-hang step also stop the member while its hooks
	// hang.
	Stop bool
	// Conns is how many connections a port-flood step opens.
	Conns int
}

func (s Step) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", s.Kind)
	switch {
	case s.Peer != "":
		fmt.Fprintf(&b, " %s|%s", s.Target, s.Peer)
	case s.Target != "":
		fmt.Fprintf(&b, " %s", s.Target)
	case s.Follows > 0:
		fmt.Fprintf(&b, " (target of step %d)", s.Follows)
	default:
		b.WriteString(" all-callers")
	}
	if s.Action != "" {
		fmt.Fprintf(&b, " action=%s", s.Action)
	}
	switch {
	case s.Kind == KindLateWrite:
		fmt.Fprintf(&b, " delay=%s", s.Latency.Round(time.Millisecond))
	case s.Latency > 0:
		fmt.Fprintf(&b, " latency=%s", s.Latency)
	}
	if s.Stop {
		b.WriteString(" during-stop")
	}
	if s.Conns > 0 {
		fmt.Fprintf(&b, " conns=%d", s.Conns)
	}
	if s.Kind == KindRestart {
		fmt.Fprintf(&b, " down %s", s.For)
	} else {
		fmt.Fprintf(&b, " for %s", s.For)
	}
	return b.String()
}

// Schedule is a reproducible list of faults: Generate with the same seed
// and length gives the same steps.
type Schedule struct {
	Seed   uint64
	Length time.Duration
	Steps  []Step
}

func (s Schedule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schedule seed=%d length=%s steps=%d\n", s.Seed, s.Length, len(s.Steps))
	for i, st := range s.Steps {
		fmt.Fprintf(&b, "  %2d +%-8s %s\n", i+1, st.At.Round(time.Millisecond), st)
	}
	return b.String()
}

// Generate draws a schedule: a fault starts every 0.3–2.5 s during length
// and lasts 0.3–4 s (pauses 1.5–4 s, longer than the suite's 1 s lease;
// hung hooks and floods 10–14 s, longer than the hook timeout and
// OwnerBound), so faults overlap and some outlast a failover. The seed's share of the rotation (PerSchedule
// kinds) takes the first slots; the rest are drawn. Some steps bring a
// follow-up: a restart of the member a kill or stop-cont just hit, a kill
// of the holder while a cluster port is flooded, a restart while the
// metadata service is slow.
func Generate(seed uint64, length time.Duration) Schedule {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	dur := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(r.Int64N(int64(hi-lo)))
	}
	members := []string{"a", "b", "witness", Holder, Holder}
	pairs := [][2]string{{"a", "b"}, {"a", "witness"}, {"b", "witness"}, {Holder, "witness"}, {Holder, Other}, {Holder, Other}}
	nodes := []string{"a", "b", Holder, Holder}
	callers := []string{"a", "b", "", Holder, Holder}
	actions := []string{"", "", "ReplaceRoute", "CreateRoute", "DescribeRouteTables", "ModifyInstanceAttribute"}
	writes := []string{"", "", "ReplaceRoute", "CreateRoute", "AssignPrivateIpAddresses", "AttachNetworkInterface", "DetachNetworkInterface"}
	s := Schedule{Seed: seed, Length: length}
	var ats []time.Duration
	for at := dur(300*time.Millisecond, time.Second); at < length; at += dur(300*time.Millisecond, 2500*time.Millisecond) {
		ats = append(ats, at)
	}
	// The rotation's kinds go to random slots, the others are drawn.
	kinds := make([]Kind, len(ats))
	for i := range kinds {
		kinds[i] = weighted[r.IntN(len(weighted))]
	}
	slots := r.Perm(len(ats))
	for j := 0; j < PerSchedule && j < len(slots); j++ {
		kinds[slots[j]] = Kinds[(uint64(PerSchedule)*(seed%uint64(len(Kinds)))+uint64(j))%uint64(len(Kinds))]
	}
	var follow []Step
	for i, at := range ats {
		st := Step{At: at, For: dur(300*time.Millisecond, 4*time.Second), Kind: kinds[i]}
		idx := len(s.Steps) + 1 // this step's 1-based index
		switch st.Kind {
		case KindKill, KindStopCont:
			st.Target = members[r.IntN(len(members))]
			if st.Kind == KindStopCont {
				st.For = dur(1500*time.Millisecond, 4*time.Second)
			}
			if r.IntN(2) == 0 {
				follow = append(follow, Step{At: st.At + st.For + dur(100*time.Millisecond, 1500*time.Millisecond),
					For: dur(0, time.Second), Kind: KindRestart, Follows: idx})
			}
		case KindRestart:
			st.Target = members[r.IntN(len(members))]
			st.For = dur(0, time.Second)
		case KindDuplicateDaemon:
			st.Target = members[r.IntN(len(members))]
			st.For = dur(time.Second, 3*time.Second)
		case KindPartition:
			p := pairs[r.IntN(len(pairs))]
			st.Target, st.Peer = p[0], p[1]
		case KindCutOff:
			// Mostly the holder, for longer than a failover with a fence.
			st.Target = []string{Holder, Holder, Holder, Other}[r.IntN(4)]
			st.For = dur(2*time.Second, 6*time.Second)
		case KindCutAPI, KindCallerCutoff, KindCutIMDS, KindCPUStarve:
			st.Target = nodes[r.IntN(len(nodes))]
		case KindIMDSSlow:
			st.Target = nodes[r.IntN(len(nodes))]
			st.For = dur(2*time.Second, 6*time.Second)
			st.Latency = dur(200*time.Millisecond, 1500*time.Millisecond)
			if r.IntN(2) == 0 {
				follow = append(follow, Step{At: st.At + dur(100*time.Millisecond, time.Second),
					For: dur(0, 500*time.Millisecond), Kind: KindRestart, Follows: idx})
			}
		case KindHookHang:
			// A planned stop matters most on the primary: its lease must
			// not wait for the hung hook.
			st.Target = nodes[r.IntN(len(nodes))]
			st.For = dur(10*time.Second, 14*time.Second)
			if st.Stop = r.IntN(2) == 0; st.Stop {
				st.Target = Holder
			}
		case KindPortFlood:
			st.Target = []string{"witness", "witness", Other, Holder}[r.IntN(4)]
			st.For = dur(10*time.Second, 14*time.Second)
			st.Conns = 200 + r.IntN(201)
			if r.IntN(2) == 0 {
				// The holder dies and stays dead while the flood lasts:
				// the survivor needs the flooded member's vote, for longer
				// than OwnerBound.
				follow = append(follow, Step{At: st.At + dur(500*time.Millisecond, 1500*time.Millisecond),
					For: dur(9*time.Second, 10*time.Second), Kind: KindKill, Target: Holder})
			}
		case KindLatency:
			st.Target = callers[r.IntN(len(callers))]
			st.Latency = dur(100*time.Millisecond, 1500*time.Millisecond)
		case KindLateWrite:
			st.Target = callers[r.IntN(len(callers))]
			st.Action = writes[r.IntN(len(writes))]
			st.Latency = dur(0, LateWriteMax+1)
		case Kind5xx, KindThrottle, KindHang:
			st.Target = callers[r.IntN(len(callers))]
			st.Action = actions[r.IntN(len(actions))]
		}
		s.Steps = append(s.Steps, st)
		// A follow-up comes right after the step it follows in the list
		// (Follows counts positions); the runner starts each step at its At.
		for _, f := range follow {
			if f.At < length {
				s.Steps = append(s.Steps, f)
			}
		}
		follow = follow[:0]
	}
	return s
}
