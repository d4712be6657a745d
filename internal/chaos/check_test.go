package chaos

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestGenerateIsReproducible(t *testing.T) {
	a, b := Generate(42, 20*time.Second), Generate(42, 20*time.Second)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different schedules (-first +second):\n%s", diff)
	}
	if c := Generate(43, 20*time.Second); cmp.Equal(a, c) {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
	if len(a.Steps) < 5 {
		t.Fatalf("a 20s schedule has %d steps, want several", len(a.Steps))
	}
	for _, st := range a.Steps {
		if st.At >= 20*time.Second || st.For <= 0 {
			t.Errorf("step %v outside the schedule", st)
		}
		if st.Kind == KindPartition && (st.Target == st.Peer || st.Peer == "") {
			t.Errorf("partition %v needs two different members", st)
		}
	}
	// Over many seeds every kind is drawn.
	seen := map[Kind]bool{}
	for seed := range uint64(50) {
		for _, st := range Generate(seed, 10*time.Second).Steps {
			seen[st.Kind] = true
		}
	}
	for _, k := range Kinds {
		if !seen[k] {
			t.Errorf("kind %s never drawn in 50 schedules", k)
		}
	}
}

// Any Rotation() consecutive seeds inject every kind, whatever the first
// seed: that is what lets CI's bounded number of schedules cover them all.
func TestGenerateRotatesThroughEveryKind(t *testing.T) {
	for _, base := range []uint64{0, 1, 7, 15, 16, 999_983, 123_456_789} {
		seen := map[Kind]bool{}
		for seed := base; seed < base+uint64(Rotation()); seed++ {
			sched := Generate(seed, 10*time.Second)
			for i, st := range sched.Steps {
				seen[st.Kind] = true
				if st.Follows == 0 {
					continue
				}
				lead := sched.Steps[st.Follows-1]
				if st.Follows > i || lead.At >= st.At || st.Target != "" {
					t.Errorf("seed %d: step %d (%v) follows step %d (%v), which is not an earlier step", seed, i+1, st, st.Follows, lead)
				}
			}
		}
		for _, k := range Kinds {
			if !seen[k] {
				t.Errorf("seeds %d..%d never draw %s", base, base+uint64(Rotation())-1, k)
			}
		}
	}
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// history builds a converged history from lease log lines.
func history(logs ...LogEvent) *History {
	return &History{Start: t0, FaultsEnd: at(9000), End: at(10000), ConvergedAt: at(9500), Holder: "a",
		Lease: time.Second, Logs: logs, Exits: map[string][]simcluster.Exit{}, Procs: map[string][]simcluster.ProcEvent{}}
}

// long is a history of 30 s whose faults ended at 20 s.
func long(logs ...LogEvent) *History {
	h := history(logs...)
	h.FaultsEnd, h.ConvergedAt, h.End = at(20000), at(20500), at(30000)
	return h
}

func proc(ms int, what string) simcluster.ProcEvent {
	return simcluster.ProcEvent{At: at(ms), What: what}
}

// fault is step i on from on to off.
func fault(i int, st Step, on, off int) []FaultEvent {
	return []FaultEvent{{At: at(on), Index: i, Step: st, On: true}, {At: at(off), Index: i, Step: st}}
}

// reaches has the client reach node every 100 ms in [from, to).
func reaches(node string, from, to int) []Reach {
	var out []Reach
	for ms := from; ms < to; ms += 100 {
		r := Reach{At: at(ms), Node: node}
		if node == "" {
			r.Err = "timeout"
		}
		out = append(out, r)
	}
	return out
}

// polls has member answer role every 100 ms in [from, to) ("" = no
// answer).
func polls(member, role string, from, to int) []Poll {
	var out []Poll
	for ms := from; ms < to; ms += 100 {
		out = append(out, Poll{Node: member, Req: at(ms), Resp: at(ms + 2), OK: role != "", Role: role, Quorum: role != ""})
	}
	return out
}

func rules(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Rule)
	}
	return out
}

func TestCheck(t *testing.T) {
	granted := func(ms int, node string, tok uint64) LogEvent {
		return LogEvent{At: at(ms), Node: node, Msg: "lease granted", Token: tok}
	}
	lost := func(ms int, node string, tok uint64) LogEvent {
		return LogEvent{At: at(ms), Node: node, Msg: "lease lost", Token: tok}
	}
	write := func(seq uint64, tok uint64) vpcsim.Call {
		return vpcsim.Call{Seq: seq, Time: at(int(seq) * 10), Caller: "i-x", Action: "ReplaceRoute", Status: 200, Token: tok}
	}
	tests := []checkCase{
		{"clean handover", history(granted(100, "a", 3), lost(2000, "a", 3), granted(2500, "b", 7)), nil},
		{"overlapping holds", history(granted(100, "a", 3), lost(3000, "a", 3), granted(2500, "b", 7)), []string{"two-holders"}},
		{"overlap within the drift bound", history(granted(100, "a", 3), lost(2510, "a", 3), granted(2500, "b", 7)), nil},
		{"a kill ends a hold", func() *History {
			h := history(granted(100, "a", 3), granted(2500, "b", 7))
			h.Exits["a"] = []simcluster.Exit{{At: at(2000), Killed: true}}
			return h
		}(), nil},
		{"a hold not ended runs to the end", history(granted(100, "a", 3), granted(2500, "b", 7)), []string{"two-holders"}},
		{"token goes backwards", history(granted(100, "a", 7), lost(2000, "a", 7), granted(2500, "b", 3)), []string{"token-order"}},
		{"stale write", func() *History {
			h := history(granted(100, "a", 3))
			h.Calls = []vpcsim.Call{write(1, 3), write(2, 7), write(3, 3)}
			return h
		}(), []string{"stale-write"}},
		{"failed stale write is fine", func() *History {
			h := history(granted(100, "a", 3))
			c := write(3, 3)
			c.Status, c.Code = 503, "RequestLimitExceeded"
			h.Calls = []vpcsim.Call{write(1, 3), write(2, 7), c}
			return h
		}(), nil},
		{"a late write under an older token lands after a newer one", func() *History {
			// The deposed holder's ReplaceRoute timed out at 1 s; vpcsim
			// applied it after the new holder's write (issue 16).
			h := history(granted(100, "a", 3), lost(1000, "a", 3), granted(1200, "b", 7))
			gaveUp := write(1, 3)
			gaveUp.Status, gaveUp.Code = 503, "Unavailable"
			newer := write(2, 7)
			newer.Applied = at(1300)
			late := write(3, 3)
			late.Late, late.Applied = true, at(1400)
			h.Calls = []vpcsim.Call{gaveUp, newer, late}
			return h
		}(), []string{"stale-write"}},
		{"a late write that lands before the newer one", func() *History {
			h := history(granted(100, "a", 3), lost(1000, "a", 3), granted(1200, "b", 7))
			late := write(1, 3)
			late.Late, late.Applied = true, at(1050)
			newer := write(2, 7)
			newer.Applied = at(1300)
			// Recorded in the other order than they took effect.
			h.Calls = []vpcsim.Call{newer, late}
			return h
		}(), nil},
		{"admin writes carry no token", func() *History {
			h := history(granted(100, "a", 3))
			h.Calls = []vpcsim.Call{write(1, 7), write(2, 0)}
			return h
		}(), nil},
		{"crash", func() *History {
			h := history(granted(100, "a", 3))
			h.Exits["b"] = []simcluster.Exit{{At: at(500), Err: "exit status 2"}}
			return h
		}(), []string{"crash"}},
		{"no convergence", func() *History {
			h := history(granted(100, "a", 3))
			h.ConvergedAt = time.Time{}
			return h
		}(), []string{"no-convergence"}},
		{"slow convergence", func() *History {
			h := history(granted(100, "a", 3))
			h.ConvergedAt = at(10500)
			return h
		}(), []string{"slow-convergence"}},
		{"a reported hold the log does not show", func() *History {
			h := history(granted(100, "a", 3), lost(1000, "a", 3))
			h.Polls = []Poll{{Node: "a", Req: at(500), Resp: at(502), OK: true, Held: true, Token: 3},
				{Node: "a", Req: at(1500), Resp: at(1502), OK: true, Held: true, Token: 3}}
			return h
		}(), []string{"unlogged-hold"}},
	}
	tests = append(tests, livenessCases()...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := Check(tt.h, time.Second)
			if diff := cmp.Diff(tt.want, rules(vs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s\n%v", diff, vs)
			}
		})
	}
}

type checkCase struct {
	name string
	h    *History
	want []string
}

// livenessCases are the rules on pauses, restarts and owner gaps (issue
// 16): each with a history that breaks it and one that does not.
func livenessCases() []checkCase {
	granted := func(ms int, node string, tok uint64) LogEvent {
		return LogEvent{At: at(ms), Node: node, Msg: "lease granted", Token: tok}
	}
	lost := func(ms int, node string, tok uint64) LogEvent {
		return LogEvent{At: at(ms), Node: node, Msg: "lease lost", Token: tok}
	}
	pausedA := func(pause, resume int, logs ...LogEvent) *History {
		h := history(logs...)
		h.Procs["a"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(pause, simcluster.ProcPause), proc(resume, simcluster.ProcResume)}
		h.Polls = polls("a", "backup", resume+200, resume+400)
		return h
	}
	return []checkCase{
		{"a pause past the lease ends the hold where it began",
			pausedA(1000, 3000, granted(100, "a", 3), granted(2200, "b", 7), lost(3050, "a", 3)), nil},
		{"a pause within the lease keeps the hold",
			pausedA(1000, 1500, granted(100, "a", 3), granted(1600, "b", 7), lost(2000, "a", 3)), []string{"two-holders"}},
		{"a grant that lapsed during a short pause ends at the lapse", func() *History {
			// The member's renewals stalled before the pause (a loaded
			// host), its grant ran out at 1150 while it was paused, and it
			// said so 2 ms after it was resumed.
			l := lost(1502, "a", 3)
			l.Lapsed = 352 * time.Millisecond
			return pausedA(1000, 1500, granted(100, "a", 3), granted(1400, "b", 7), l)
		}(), nil},
		{"a lapse that still overlaps the next grant", func() *History {
			l := lost(2000, "a", 3)
			l.Lapsed = 100 * time.Millisecond
			return pausedA(1000, 1500, granted(100, "a", 3), granted(1600, "b", 7), l)
		}(), []string{"two-holders"}},
		{"a node that claims its hold after a long pause", func() *History {
			h := pausedA(1000, 3000, granted(100, "a", 3), granted(2200, "b", 7), lost(3300, "a", 3))
			h.Polls = append(h.Polls, Poll{Node: "a", Req: at(3100), Resp: at(3102), OK: true, Role: "primary", Held: true, Token: 3})
			return h
		}(), []string{"unlogged-hold"}},
		{"a restarted node that comes back", func() *History {
			h := long(granted(100, "a", 3))
			h.Procs["b"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(2000, simcluster.ProcTerm), proc(3000, simcluster.ProcStart)}
			h.Exits["b"] = []simcluster.Exit{{At: at(2500), Killed: true}}
			h.Polls = append(polls("b", "", 3000, 4000), polls("b", "backup", 4000, 30000)...)
			return h
		}(), nil},
		{"a restarted node that never answers as backup", func() *History {
			h := long(granted(100, "a", 3))
			h.Procs["b"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(2000, simcluster.ProcTerm), proc(3000, simcluster.ProcStart)}
			h.Exits["b"] = []simcluster.Exit{{At: at(2500), Killed: true}}
			h.Polls = polls("b", "", 3000, 30000)
			return h
		}(), []string{"no-rejoin"}},
		{"a restarted node whose election never runs", func() *History {
			h := long(granted(100, "a", 3))
			h.Procs["b"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(2000, simcluster.ProcTerm), proc(3000, simcluster.ProcStart)}
			h.Exits["b"] = []simcluster.Exit{{At: at(2500), Killed: true}}
			h.Polls = polls("b", "backup", 3000, 30000)
			for i := range h.Polls {
				h.Polls[i].Quorum = false
			}
			return h
		}(), []string{"no-rejoin"}},
		{"a restarted node alone waits for a peer", func() *History {
			h := long(granted(100, "a", 3))
			h.Procs["b"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(2000, simcluster.ProcTerm), proc(3000, simcluster.ProcStart)}
			h.Exits["b"] = []simcluster.Exit{{At: at(2500), Killed: true}}
			h.Procs["a"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(2500, simcluster.ProcPause), proc(12000, simcluster.ProcResume)}
			h.Procs["witness"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(2500, simcluster.ProcPause), proc(12000, simcluster.ProcResume)}
			h.Polls = append(append(polls("b", "", 3000, 20000), polls("b", "backup", 20000, 30000)...),
				append(polls("a", "backup", 12000, 30000), polls("witness", "witness", 12000, 30000)...)...)
			return h
		}(), nil},
		{"a resumed witness that stays in init", func() *History {
			h := long(granted(100, "a", 3))
			h.Procs["witness"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(1000, simcluster.ProcPause), proc(3000, simcluster.ProcResume)}
			h.Polls = polls("witness", "init", 3000, 30000)
			return h
		}(), []string{"no-rejoin"}},
		{"a fault on the restarted node extends its bound", func() *History {
			h := long(granted(100, "a", 3))
			h.Procs["b"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(2000, simcluster.ProcTerm), proc(3000, simcluster.ProcStart)}
			h.Exits["b"] = []simcluster.Exit{{At: at(2500), Killed: true}}
			h.Faults = fault(0, Step{Kind: KindCutIMDS, Target: "b"}, 2800, 9000)
			h.Polls = append(polls("b", "", 3000, 18000), polls("b", "backup", 18000, 30000)...)
			return h
		}(), nil},
		{"no owner while a healthy node exists", func() *History {
			h := long(granted(100, "a", 3), lost(1000, "a", 3))
			h.Reaches = append(reaches("a", 0, 1000), reaches("", 1000, 30000)...)
			return h
		}(), []string{"owner-gap"}},
		{"no owner while no node could own it", func() *History {
			h := long(granted(100, "a", 3), lost(1000, "a", 3), granted(16000, "b", 9))
			h.Reaches = append(append(reaches("a", 0, 1000), reaches("", 1000, 17000)...), reaches("b", 17000, 30000)...)
			h.Faults = append(fault(0, Step{Kind: KindCutAPI, Target: "a"}, 900, 15000),
				fault(1, Step{Kind: KindThrottle, Target: "b"}, 900, 10000)...)
			return h
		}(), nil},
		{"the count starts when a node becomes healthy", func() *History {
			h := long(granted(100, "a", 3), lost(1000, "a", 3), granted(16000, "b", 9))
			h.Reaches = append(append(reaches("a", 0, 1000), reaches("", 1000, 17000)...), reaches("b", 17000, 30000)...)
			h.Faults = fault(0, Step{Kind: KindPartition, Target: "a", Peer: "b"}, 900, 10000)
			h.Procs["witness"] = []simcluster.ProcEvent{proc(-1000, simcluster.ProcStart), proc(900, simcluster.ProcPause), proc(10000, simcluster.ProcResume)}
			h.Polls = polls("witness", "witness", 10000, 30000)
			return h
		}(), nil},
		{"idle connections on the witness do not excuse a gap", func() *History {
			h := long(granted(100, "a", 3), granted(12000, "b", 9))
			h.Exits["a"] = []simcluster.Exit{{At: at(1000), Killed: true}}
			h.Reaches = append(append(reaches("a", 0, 1000), reaches("", 1000, 12500)...), reaches("b", 12500, 30000)...)
			h.Faults = fault(0, Step{Kind: KindPortFlood, Target: "witness", Conns: 300}, 500, 11000)
			return h
		}(), []string{"owner-gap"}},
		{"a planned stop that does not end", func() *History {
			h := history(granted(100, "a", 3))
			h.Stops = []simcluster.StopResult{{Node: "a", At: at(1000), Took: simcluster.StopBound, Forced: true}}
			return h
		}(), []string{"stop-hang"}},
		{"a second daemon that refuses to start", func() *History {
			h := history(granted(100, "a", 3))
			h.Duplicates = []simcluster.Duplicate{{Node: "a", Started: at(1000), Exit: simcluster.Exit{At: at(1100), Err: "exit status 1"}}}
			return h
		}(), nil},
		{"a second daemon that runs alongside the first", func() *History {
			h := history(granted(100, "a", 3))
			h.Duplicates = []simcluster.Duplicate{{Node: "a", Started: at(1000), Exit: simcluster.Exit{At: at(3000), Killed: true}}}
			return h
		}(), []string{"duplicate-ran"}},
		{"a second daemon that finds the lock free: the host's daemon was killed while it started", func() *History {
			h := history(granted(100, "a", 3), lost(1010, "a", 3),
				LogEvent{At: at(1500), Node: DuplicateName("a"), Msg: "election started"}, granted(2000, DuplicateName("a"), 9), lost(3000, DuplicateName("a"), 9))
			h.Exits["a"] = []simcluster.Exit{{At: at(1010), Killed: true}}
			h.Duplicates = []simcluster.Duplicate{{Node: "a", Started: at(1000), Exit: simcluster.Exit{At: at(3000), Killed: true}}}
			// The host's status socket answers for the second daemon now.
			for ms := 2100; ms < 3000; ms += 100 {
				h.Polls = append(h.Polls, Poll{Node: "a", Req: at(ms), Resp: at(ms + 2), OK: true, Role: "primary", Held: true, Token: 9, Quorum: true})
			}
			return h
		}(), nil},
		{"a second daemon whose election started while the host's still ran", func() *History {
			h := history(granted(100, "a", 3), lost(2000, "a", 3), LogEvent{At: at(1500), Node: DuplicateName("a"), Msg: "election started"})
			h.Exits["a"] = []simcluster.Exit{{At: at(2000), Killed: true}}
			h.Duplicates = []simcluster.Duplicate{{Node: "a", Started: at(1000), Exit: simcluster.Exit{At: at(3000), Killed: true}}}
			return h
		}(), []string{"duplicate-ran"}},
	}
}

func TestTimelineNamesEverything(t *testing.T) {
	h := history(LogEvent{At: at(100), Node: "a", Msg: "lease granted", Token: 3})
	h.Calls = []vpcsim.Call{{Seq: 1, Time: at(150), Caller: "i-a", Action: "ReplaceRoute", Status: 200, Token: 3}}
	h.Faults = []FaultEvent{{At: at(50), Step: Step{Kind: KindPartition, Target: "a", Peer: "b", For: time.Second}, On: true}}
	h.Reaches = []Reach{{At: at(200), Node: "a"}, {At: at(300), Node: "a"}, {At: at(400), Err: "timeout"}}
	vs := []Violation{{At: at(450), Rule: "two-holders", Detail: "x"}}
	got := strings.Split(strings.TrimSpace(Timeline(h, vs, map[string]string{"i-a": "a"})), "\n")
	want := []string{
		"partition a|b for 1s on",
		"lease granted token=3",
		"ReplaceRoute by a token=3 ok",
		"reaches a",
		"reaches unreachable",
		"two-holders: x",
		"converged on a",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(l string) bool { return strings.HasSuffix(l, w) }) {
			t.Errorf("timeline lacks %q:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

// TestCheckFences: a forced detach from an instance that no forced stop
// stopped, or that runs again since, breaks fence-order; a node stopping
// its own instance breaks fence-self; a stop, then the detach, passes.
func TestCheckFences(t *testing.T) {
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const a, b = "i-a", "i-b"
	stop := vpcsim.Call{Action: "StopInstances", Caller: b, Token: 5, Params: map[string]string{"InstanceId.1": a, "Force": "true"}, Time: at(100), Applied: at(100)}
	detach := vpcsim.Call{Action: "DetachNetworkInterface", Caller: b, Token: 5, Params: map[string]string{"Force": "true"}, Time: at(900), Applied: at(900)}
	sights := []Sight{{At: at(0), States: map[string]string{a: "running", b: "running"}, ENIOn: a},
		{At: at(700), States: map[string]string{a: "stopped", b: "running"}, ENIOn: a}}
	rules := func(calls []vpcsim.Call, ss []Sight) []string {
		var out []string
		for _, v := range checkFences(&History{Fence: true, Calls: calls, Sights: ss}) {
			out = append(out, v.Rule)
		}
		return out
	}
	if got := rules([]vpcsim.Call{stop, detach}, sights); len(got) != 0 {
		t.Errorf("stop then detach: %v, want no violation", got)
	}
	if got := rules([]vpcsim.Call{detach}, sights); !slices.Equal(got, []string{"fence-order"}) {
		t.Errorf("detach with no stop: %v, want fence-order", got)
	}
	restarted := append(slices.Clone(sights), Sight{At: at(800), States: map[string]string{a: "running", b: "running"}, ENIOn: a})
	if got := rules([]vpcsim.Call{stop, detach}, restarted); !slices.Equal(got, []string{"fence-order"}) {
		t.Errorf("detach after the instance runs again: %v, want fence-order", got)
	}
	self := stop
	self.Params = map[string]string{"InstanceId.1": b, "Force": "true"}
	if got := rules([]vpcsim.Call{self}, sights); !slices.Equal(got, []string{"fence-self"}) {
		t.Errorf("stop of the caller's own instance: %v, want fence-self", got)
	}
}
