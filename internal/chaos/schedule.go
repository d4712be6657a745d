package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Kind names a fault. Each is one value that the runner knows how to
// inject and undo (etcd's failpoints, as style.md describes).
type Kind string

// The faults a schedule draws from.
const (
	// KindKill SIGKILLs a member's vipd and restarts it when the step ends.
	KindKill Kind = "kill"
	// KindPartition drops all traffic between two members (fabric rules).
	KindPartition Kind = "partition"
	// KindCutAPI cuts a node's path to the EC2 API (the fabric's proxy).
	KindCutAPI Kind = "cut-api"
	// KindCallerCutoff makes vpcsim drop every call of a node unanswered.
	KindCallerCutoff Kind = "caller-cutoff"
	// KindCutIMDS cuts a node's path to its metadata service.
	KindCutIMDS Kind = "cut-imds"
	// KindLatency delays EC2 calls (vpcsim latency fault).
	KindLatency Kind = "latency"
	// Kind5xx answers EC2 calls with InternalError (HTTP 500).
	Kind5xx Kind = "5xx"
	// KindThrottle answers EC2 calls with RequestLimitExceeded (HTTP 503).
	KindThrottle Kind = "throttle"
	// KindHang holds EC2 calls unanswered for the step's duration.
	KindHang Kind = "hang"
)

// Symbolic targets, resolved when a step starts.
const (
	Holder = "holder"
	Other  = "other"
)

// Kinds lists every fault kind in a fixed order.
var Kinds = []Kind{KindKill, KindPartition, KindCutAPI, KindCallerCutoff, KindCutIMDS, KindLatency, Kind5xx, KindThrottle, KindHang}

// weighted draws kills and partitions twice as often as the rest: they
// are the faults that move the lease.
var weighted = append(slices.Clone(Kinds), KindKill, KindPartition)

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
	// Peer is the other side of a partition.
	Peer string
	// Action narrows an EC2 fault to one action ("" = any).
	Action string
	// Latency is a latency fault's delay.
	Latency time.Duration
}

func (s Step) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", s.Kind)
	switch {
	case s.Peer != "":
		fmt.Fprintf(&b, " %s|%s", s.Target, s.Peer)
	case s.Target != "":
		fmt.Fprintf(&b, " %s", s.Target)
	default:
		b.WriteString(" all-callers")
	}
	if s.Action != "" {
		fmt.Fprintf(&b, " action=%s", s.Action)
	}
	if s.Latency > 0 {
		fmt.Fprintf(&b, " latency=%s", s.Latency)
	}
	fmt.Fprintf(&b, " for %s", s.For)
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
	for _, st := range s.Steps {
		fmt.Fprintf(&b, "  +%-8s %s\n", st.At.Round(time.Millisecond), st)
	}
	return b.String()
}

// Generate draws a schedule: a fault starts every 0.3–2.5 s during length
// and lasts 0.3–4 s, so faults overlap and some outlast a failover.
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
	s := Schedule{Seed: seed, Length: length}
	for at := dur(300*time.Millisecond, time.Second); at < length; at += dur(300*time.Millisecond, 2500*time.Millisecond) {
		st := Step{At: at, For: dur(300*time.Millisecond, 4*time.Second), Kind: weighted[r.IntN(len(weighted))]}
		switch st.Kind {
		case KindKill:
			st.Target = members[r.IntN(len(members))]
		case KindPartition:
			p := pairs[r.IntN(len(pairs))]
			st.Target, st.Peer = p[0], p[1]
		case KindCutAPI, KindCallerCutoff, KindCutIMDS:
			st.Target = nodes[r.IntN(len(nodes))]
		case KindLatency:
			st.Target = callers[r.IntN(len(callers))]
			st.Latency = dur(100*time.Millisecond, 1500*time.Millisecond)
		case Kind5xx, KindThrottle, KindHang:
			st.Target = callers[r.IntN(len(callers))]
			st.Action = actions[r.IntN(len(actions))]
		}
		s.Steps = append(s.Steps, st)
	}
	return s
}
