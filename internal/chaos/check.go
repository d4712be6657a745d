package chaos

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
)

// DriftBound is how far apart two processes' timestamps of one instant may
// be. All members run on one host and log CLOCK_REALTIME from one kernel,
// so clocks do not drift apart; what remains is the time between a lease
// change in memory and the timestamp of its log line (one goroutine step;
// "lease granted" is logged just after the grant is held, "lease lost"
// just before it is dropped, when the validity ran out slightly before
// that) and the harness noticing a killed process. On separate hosts this
// bound would be the clock-rate difference over one lease, which raft's
// 0.2 × HeartbeatTimeout margin absorbs (internal/election/raft/doc.go).
const DriftBound = 25 * time.Millisecond

// Violation is one broken invariant.
type Violation struct {
	At     time.Time
	Rule   string
	Detail string
}

// Grant is one node's hold of one fencing token, from its own log.
type Grant struct {
	Node       string
	Token      uint64
	Start, End time.Time
	EndWhy     string
}

// writeActions are the EC2 calls that change state; only they are fenced.
func isWrite(action string) bool {
	for _, p := range []string{"Create", "Replace", "Delete", "Modify", "Assign", "Unassign", "Attach", "Detach", "Associate", "Disassociate", "Stop"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// Grants rebuilds each node's lease holds from its log: a hold starts at
// "lease granted" and ends at the first of "lease lost" (or, when that line
// says the grant had lapsed some time before, at the lapse: a member that
// was paused or starved when its grant ran out notices late, but its grant
// was over and it acted on nothing since), the process's death (a killed
// process acts no more), a restart, or the end of the run.
// A pause longer than the lease ends a hold where the pause began: a
// paused process acts no more, and once resumed its lease has run out, so
// any hold it claims afterwards (a status answer, say) is outside every
// grant.
func Grants(h *History) []Grant {
	byNode := map[string][]LogEvent{}
	for _, l := range h.Logs {
		byNode[l.Node] = append(byNode[l.Node], l)
	}
	var out []Grant
	for node, logs := range byNode {
		type ev struct {
			at    time.Time
			kind  string
			token uint64
			why   string
		}
		var evs []ev
		for _, l := range logs {
			at := l.At
			if l.Msg == "lease lost" && l.Lapsed > 0 {
				at = at.Add(-l.Lapsed)
			}
			evs = append(evs, ev{at, l.Msg, l.Token, l.Why})
		}
		for _, x := range h.Exits[node] {
			evs = append(evs, ev{at: x.At, kind: "exit", why: "process ended"})
		}
		for _, p := range h.Procs[node] {
			if p.What == simcluster.ProcPause || p.What == simcluster.ProcResume {
				evs = append(evs, ev{at: p.At, kind: p.What})
			}
		}
		slices.SortStableFunc(evs, func(a, b ev) int { return a.at.Compare(b.at) })
		var open *Grant
		end := func(at time.Time, why string) {
			if open != nil {
				open.End, open.EndWhy = at, why
				out = append(out, *open)
				open = nil
			}
		}
		var pausedAt time.Time
		// pausedOut ends a hold at the pause if the pause outlasted the
		// lease by now.
		pausedOut := func(now time.Time) bool {
			if pausedAt.IsZero() || now.Sub(pausedAt) <= h.Lease {
				return false
			}
			end(pausedAt, "paused past the lease")
			return true
		}
		for _, e := range evs {
			switch e.kind {
			case simcluster.ProcPause:
				pausedAt = e.at
				continue
			case simcluster.ProcResume:
				pausedOut(e.at)
				pausedAt = time.Time{}
				continue
			}
			if pausedOut(e.at) && e.kind == "exit" {
				pausedAt = time.Time{}
				continue
			}
			switch e.kind {
			case "lease granted":
				end(e.at, "granted again")
				open = &Grant{Node: node, Token: e.token, Start: e.at}
			case "lease lost":
				if open != nil && open.Token == e.token {
					end(e.at, "lost: "+e.why)
				}
			case "exit":
				pausedAt = time.Time{}
				end(e.at, e.why)
			case "election started":
				end(e.at, "restarted")
			}
		}
		pausedOut(h.End)
		end(h.End, "run ended")
	}
	slices.SortFunc(out, func(a, b Grant) int { return a.Start.Compare(b.Start) })
	return out
}

// Check applies the invariants to a history.
func Check(h *History, converge time.Duration) []Violation {
	var vs []Violation
	grants := Grants(h)
	if h.Fence {
		vs = append(vs, checkFences(h)...)
	}

	// 1. Never two holders: holds of different nodes must not overlap by
	// more than the drift bound; tokens grow with every grant.
	for i, g := range grants {
		for _, o := range grants[i+1:] {
			if o.Node == g.Node {
				continue
			}
			if overlap := earliest(g.End, o.End).Sub(latest(g.Start, o.Start)); overlap > DriftBound {
				vs = append(vs, Violation{At: o.Start, Rule: "two-holders",
					Detail: fmt.Sprintf("%s held token %d [%s, %s] while %s held token %d [%s, %s]: overlap %s",
						g.Node, g.Token, clock(h, g.Start), clock(h, g.End), o.Node, o.Token, clock(h, o.Start), clock(h, o.End), overlap)})
			}
		}
	}
	var last uint64
	for _, g := range grants {
		if g.Token <= last {
			vs = append(vs, Violation{At: g.Start, Rule: "token-order",
				Detail: fmt.Sprintf("%s was granted token %d after token %d", g.Node, g.Token, last)})
		}
		last = max(last, g.Token)
	}
	// Every status answer that says "held" must fall inside a hold from
	// the log; otherwise the holds above are incomplete.
	for _, p := range h.Polls {
		if !p.OK || !p.Held {
			continue
		}
		// The status socket is the host's: a second daemon that took the
		// instance lock once the host's own had died answers on it.
		if !slices.ContainsFunc(grants, func(g Grant) bool {
			return (g.Node == p.Node || g.Node == DuplicateName(p.Node)) && g.Token == p.Token &&
				!p.Resp.Before(g.Start.Add(-DriftBound)) && !p.Req.After(g.End.Add(DriftBound))
		}) {
			vs = append(vs, Violation{At: p.Req, Rule: "unlogged-hold",
				Detail: fmt.Sprintf("%s reported holding token %d between %s and %s, outside any logged grant", p.Node, p.Token, clock(h, p.Req), clock(h, p.Resp))})
		}
	}

	// 2. No write under a token lower than one already written took effect
	// after it. Writes are taken in the order they took effect (Applied;
	// vpcsim records a call when it ends, and a late-write fault's
	// mutation as a call of its own, Late, when it lands).
	var writes []vpcsim.Call
	for _, c := range h.Calls {
		if isWrite(c.Action) && c.Code == "" && c.Status == 200 && c.Token != 0 {
			writes = append(writes, c)
		}
	}
	slices.SortStableFunc(writes, func(a, b vpcsim.Call) int { return tookEffect(a).Compare(tookEffect(b)) })
	var maxTok uint64
	var maxCall vpcsim.Call
	for _, c := range writes {
		if c.Token < maxTok {
			late := ""
			if c.Late {
				late = ", applied after its client gave up"
			}
			vs = append(vs, Violation{At: tookEffect(c), Rule: "stale-write",
				Detail: fmt.Sprintf("%s by %s with token %d took effect (call %d%s) after %s by %s with token %d (call %d)",
					c.Action, c.Caller, c.Token, c.Seq, late, maxCall.Action, maxCall.Caller, maxTok, maxCall.Seq)})
		}
		if c.Token > maxTok {
			maxTok, maxCall = c.Token, c
		}
	}

	// 3. The world converges to the holder once the faults stop.
	switch took := h.ConvergedAt.Sub(h.FaultsEnd); {
	case h.ConvergedAt.IsZero():
		vs = append(vs, Violation{At: h.FaultsEnd, Rule: "no-convergence",
			Detail: fmt.Sprintf("routes, local addresses and client traffic did not agree on one holder within %s of the faults ending", converge)})
	case took > converge:
		vs = append(vs, Violation{At: h.ConvergedAt, Rule: "slow-convergence",
			Detail: fmt.Sprintf("the world agreed on %s only %s after the faults ended, beyond the bound of %s", h.Holder, took.Round(time.Millisecond), converge)})
	}

	// 4. A member that was started or resumed answers as backup, primary
	// or witness again, without an operator; the address has an owner
	// again soon whenever a node could own it; planned stops end; a second
	// daemon with the same config refuses to run.
	vs = append(vs, checkRejoin(h)...)
	vs = append(vs, checkOwnerGaps(h)...)
	for _, s := range h.Stops {
		if s.Forced {
			vs = append(vs, Violation{At: s.At.Add(s.Took), Rule: "stop-hang",
				Detail: fmt.Sprintf("%s did not exit within %s of SIGTERM (sent at %s) and was killed", s.Node, simcluster.StopBound, clock(h, s.At))})
		}
	}
	for _, d := range h.Duplicates {
		if d.Exit.Killed && !tookOver(h, d) {
			vs = append(vs, Violation{At: d.Exit.At, Rule: "duplicate-ran",
				Detail: fmt.Sprintf("a second vipd with %s's config, started at %s, was still running after %s instead of refusing to start",
					d.Node, clock(h, d.Started), d.Exit.At.Sub(d.Started).Round(time.Millisecond))})
		}
	}

	// 5. No process ended unless the harness killed it, or its instance
	// was stopped by a fence (a vipd started there meanwhile cannot read
	// its metadata and rightly gives up).
	fenced := windows(h)
	for node, exits := range h.Exits {
		for _, x := range exits {
			down := slices.ContainsFunc(fenced, func(w window) bool { return w.kind == KindFenced && w.target == node && w.covers(x.At) })
			if !x.Killed && !down {
				vs = append(vs, Violation{At: x.At, Rule: "crash", Detail: fmt.Sprintf("%s exited by itself: %s", node, x.Err)})
			}
		}
	}
	slices.SortStableFunc(vs, func(a, b Violation) int { return a.At.Compare(b.At) })
	return vs
}

// tookEffect is when a write took effect: Applied, or for a record that
// lacks it, the call's start.
func tookEffect(c vpcsim.Call) time.Time {
	if !c.Applied.IsZero() {
		return c.Applied
	}
	return c.Time
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func clock(h *History, t time.Time) string {
	return fmt.Sprintf("+%.3fs", t.Sub(h.Start).Seconds())
}

// Timeline renders the history as readable lines, relative to the start:
// faults, lease grants and losses, process ends, every successful AWS
// write with caller and token, changes in who the client reached, and the
// violations.
func Timeline(h *History, vs []Violation, names map[string]string) string {
	type line struct {
		at  time.Time
		src string
		msg string
	}
	var ls []line
	for _, f := range h.Faults {
		state := "on"
		if !f.On {
			state = "off"
		}
		msg := fmt.Sprintf("#%d %s %s", f.Index+1, f.Step, state)
		if f.Note != "" {
			msg += ": " + f.Note
		}
		if f.Err != "" {
			msg += " (error: " + f.Err + ")"
		}
		ls = append(ls, line{f.At, "fault", msg})
	}
	for node, evs := range h.Procs {
		for _, e := range evs {
			if e.At.Before(h.Start) {
				continue // the cluster's own start
			}
			ls = append(ls, line{e.At, node, "process " + map[string]string{simcluster.ProcStart: "started", simcluster.ProcPause: "paused (SIGSTOP)",
				simcluster.ProcResume: "resumed (SIGCONT)", simcluster.ProcTerm: "sent SIGTERM"}[e.What]})
		}
	}
	for _, s := range h.Stops {
		how := fmt.Sprintf("exited %s after SIGTERM", s.Took.Round(time.Millisecond))
		if s.Forced {
			how = fmt.Sprintf("still running %s after SIGTERM; killed", s.Took.Round(time.Millisecond))
		}
		ls = append(ls, line{s.At.Add(s.Took), s.Node, how})
	}
	for _, d := range h.Duplicates {
		ls = append(ls, line{d.Started, d.Node, "second daemon started"})
		ls = append(ls, line{d.Exit.At, d.Node, "second daemon " + d.Exit.Describe()})
	}
	for _, l := range h.Logs {
		msg := l.Msg
		if l.Token != 0 {
			msg += fmt.Sprintf(" token=%d", l.Token)
		}
		if l.Why != "" {
			msg += " (" + l.Why + ")"
		}
		ls = append(ls, line{l.At, l.Node, msg})
	}
	for node, xs := range h.Exits {
		for _, x := range xs {
			how := "killed"
			if !x.Killed {
				how = "CRASHED: " + x.Err
			}
			ls = append(ls, line{x.At, node, "process ended, " + how})
		}
	}
	for _, c := range h.Calls {
		if !isWrite(c.Action) {
			continue
		}
		who := c.Caller
		if n, ok := names[who]; ok {
			who = n
		}
		res := "ok"
		if c.Code != "" {
			res = c.Code
		}
		if c.Late {
			res += " (applied late)"
		}
		ls = append(ls, line{tookEffect(c), "aws", fmt.Sprintf("%s by %s token=%d %s", c.Action, who, c.Token, res)})
	}
	prev := "?"
	for _, r := range h.Reaches {
		cur := r.Node
		if cur == "" {
			cur = "unreachable"
		}
		if cur != prev {
			ls = append(ls, line{r.At, "client", "reaches " + cur})
			prev = cur
		}
	}
	prevRole := map[string]string{}
	for _, p := range h.Polls {
		role := "no answer"
		if p.OK {
			role = p.Role
			if p.Held {
				role += fmt.Sprintf(" holding %d", p.Token)
			}
		}
		if prevRole[p.Node] != role {
			ls = append(ls, line{p.Resp, p.Node, "status: " + role})
			prevRole[p.Node] = role
		}
	}
	if !h.FaultsEnd.IsZero() {
		ls = append(ls, line{h.FaultsEnd, "harness", "faults stopped; everything healed and restarted"})
	}
	if !h.ConvergedAt.IsZero() {
		ls = append(ls, line{h.ConvergedAt, "harness", "converged on " + h.Holder})
	}
	for _, v := range vs {
		ls = append(ls, line{v.At, "VIOLATION", v.Rule + ": " + v.Detail})
	}
	slices.SortStableFunc(ls, func(a, b line) int { return cmp.Compare(a.at.UnixNano(), b.at.UnixNano()) })
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "%9s  %-9s %s\n", clock(h, l.at), l.src, l.msg)
	}
	return b.String()
}

// tookOver reports whether a second daemon became the host's vipd
// rightly: the host's own daemon ended after the second one started and
// before the second one's election started, so the second found the
// instance lock free (a kill fault landing while it was starting). One
// whose election started while the host's daemon still ran is a daemon too
// many.
func tookOver(h *History, d simcluster.Duplicate) bool {
	var started time.Time
	for _, l := range h.Logs {
		if l.Node == DuplicateName(d.Node) && l.Msg == "election started" && !l.At.Before(d.Started) {
			started = l.At
			break
		}
	}
	if started.IsZero() {
		return false
	}
	return slices.ContainsFunc(h.Exits[d.Node], func(x simcluster.Exit) bool {
		return !x.At.Before(d.Started) && x.At.Before(started)
	})
}
