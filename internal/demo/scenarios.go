package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/simcluster"
)

// failoverTimeout bounds how long a scenario waits for the client to be
// served by the other node.
const failoverTimeout = 30 * time.Second

// runScenario breaks the current primary as the scenario says, measures
// the failover, then restores the broken node as a backup.
func (c *Cluster) runScenario(ctx context.Context, name string, round int) Round {
	r := Round{Scenario: name, Round: round}
	p := c.Primary()
	if p == "" {
		r.Error = "no primary before the fault"
		return r
	}
	q := c.other(p)
	r.From, r.To = p, q
	if !c.o.JSON {
		fmt.Fprintf(c.o.Out, "\n▶ %s, round %d: node %s is primary; breaking it\n", name, round, p)
	}
	seq := c.lastCallSeq()
	at := simcluster.Target{Host: p, Peer: q}
	// crash is the host's death: its service goes with its vipd.
	crash := func() {
		_, _ = c.sim.Inject(ctx, simcluster.FaultUnhealthy, at)
		_, _ = c.sim.Inject(ctx, simcluster.FaultKill, at)
	}
	var t0 time.Time
	var spot simcluster.Injected
	switch name {
	case ScenarioKill:
		t0 = time.Now()
		crash()
		c.line(0, "SIGKILL node %s (vipd and its service)", p)
	case ScenarioUnhealthy:
		t0 = time.Now()
		_, _ = c.sim.Inject(ctx, simcluster.FaultUnhealthy, at)
		c.line(0, "node %s's service stops answering its health check", p)
	case ScenarioSwitchover:
		t0 = time.Now()
		swErr := make(chan error, 1)
		go func() {
			_, err := c.sim.Inject(ctx, simcluster.FaultSwitchover, at)
			swErr <- err
		}()
		defer func() {
			if err := <-swErr; err != nil {
				c.progress.say("vipd switchover --to %s: %v", q, err)
			}
		}()
		c.line(0, "vipd switchover --to %s", q)
	case ScenarioSpot:
		t0 = time.Now()
		var err error
		if spot, err = c.sim.Inject(ctx, simcluster.FaultSpot, simcluster.Target{Host: p, For: spotWarning}); err != nil {
			r.Error = err.Error()
			return r
		}
	case ScenarioAPIFaults:
		f, err := c.sim.Inject(ctx, simcluster.FaultAPIFaults, simcluster.Target{})
		if err != nil {
			r.Error = err.Error()
			return r
		}
		defer func() { _ = f.Heal() }()
		t0 = time.Now()
		crash()
		c.line(0, "EC2 answers RequestLimitExceeded ×3 and InternalError ×2; SIGKILL node %s", p)
	}

	var routed time.Time
	err := c.progress.wait(ctx, failoverTimeout, "waiting for node "+q+" to serve the client", func() bool {
		if routed.IsZero() && c.Primary() == q {
			routed = time.Now()
		}
		return c.servedBy(q, t0)
	})
	if err != nil {
		r.Error = err.Error()
		c.restore(ctx, p)
		return r
	}
	served, _ := c.client.FirstServed(q, t0)
	// A planned move counts from when the node acts: the switchover
	// command, or the primary reading its Spot notice. Client errors count
	// from the fault or notice.
	announced := t0
	if name == ScenarioSpot {
		if t0 = c.spotRound(ctx, &r, p, announced); r.Error != "" {
			c.restore(ctx, p)
			return r
		}
	}
	r.FailoverMS = ms(served.Start.Sub(t0))
	r.ClientErrors = c.client.Failed(announced, served.Start)

	r.AWSCalls, r.AWSWrites = c.countCalls(seq, t0, served.Start)

	// The client can be served before the new primary has finished its
	// read-back; wait for its primary transition to report the timings.
	var st admin.Status
	_ = c.progress.wait(ctx, 10*time.Second, "waiting for node "+q+" to report primary", func() bool {
		var err error
		st, err = c.Status(ctx, q)
		return err == nil && primaryAfter(st, t0)
	})
	r.Token = st.Token
	acquiring, steps := acquireAfter(st, t0)
	r.AcquireMS = steps
	pt := cut(t0, acquiring, routed, served.Start)
	r.DetectionMS, r.AWSMS, r.ClientMS = ms(pt.Detection), ms(pt.AWS), ms(pt.Client)
	r.FailoverMS = ms(pt.Detection + pt.AWS + pt.Client)
	r.RoutedMS = ms(pt.Detection + pt.AWS)
	from := t0.Add(pt.Detection)
	a := acquireCalls(c.srv.Calls(seq), c.InstanceID(q), from, from.Add(pt.AWS))
	r.AWSAttempts, r.AWSErrors = a.Calls, a.codes()

	if !acquiring.IsZero() {
		c.line(pt.Detection, "node %s starts acquiring (lease granted, token %d)", q, st.Token)
	}
	for _, f := range a.Failed {
		c.line(f.Time.Sub(t0), "  EC2 %s by node %s: %s (%s), retried", f.Action, q, f.Code, throttleOrFault(f.Code))
	}
	_, awsMS, _ := roundedParts(r)
	c.line(pt.Detection+pt.AWS, "route tables point at node %s (read from vpcsim): AWS %.0f ms since it started acquiring, %d EC2 calls%s",
		q, awsMS, a.Calls, failedSummary(a))
	c.line(served.Start.Sub(t0), "client served by node %s (%d failed attempts before)", q, r.ClientErrors)
	if name == ScenarioSpot {
		c.finishSpot(ctx, &r, p, spot, announced, t0)
	}
	c.restore(ctx, p)
	return r
}

// throttleOrFault says what an EC2 error code is to an operator.
func throttleOrFault(code string) string {
	switch code {
	case "RequestLimitExceeded", "Throttling", "ThrottlingException":
		return "throttled"
	case "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable":
		return "server error"
	}
	return "error"
}

// failedSummary is "; 5 failed and were retried: 2 InternalError, 3
// RequestLimitExceeded", or "".
func failedSummary(a attempts) string {
	if len(a.Failed) == 0 {
		return ""
	}
	return fmt.Sprintf("; %d failed and were retried: %s", len(a.Failed), failedCodes(a.codes()))
}

// primaryAfter reports whether a node became primary after t0.
func primaryAfter(st admin.Status, t0 time.Time) bool {
	for _, t := range st.Transitions {
		if t.At.After(t0) && t.To == "primary" {
			return true
		}
	}
	return false
}

// acquireAfter finds, in a node's transitions, when it started acquiring
// after t0 and how long its acquire steps took.
func acquireAfter(st admin.Status, t0 time.Time) (time.Time, float64) {
	var at time.Time
	var steps float64
	for _, t := range st.Transitions {
		if !t.At.After(t0) {
			continue
		}
		if t.To == "acquiring" && at.IsZero() {
			at = t.At
		}
		if t.To == "primary" && !at.IsZero() {
			for _, s := range t.Steps {
				steps += s.DurationMS
			}
			break
		}
	}
	return at, steps
}

// restore brings a broken node back as a healthy backup: service, then the
// daemon if it was killed; it waits until the node reports backup.
func (c *Cluster) restore(ctx context.Context, name string) {
	if err := c.sim.StartService(name); err != nil {
		c.progress.say("restart service of node %s: %v", name, err)
		return
	}
	if err := c.sim.Start(name); err != nil {
		c.progress.say("restart node %s: %v", name, err)
		return
	}
	// Back means: a healthy backup, and eligible in the primary's view
	// where the election tells peers' eligibility (the raft cluster
	// records it through the leader, a moment after the node decides it;
	// a DynamoDB lease knows no peers).
	err := c.progress.wait(ctx, 30*time.Second, "waiting for node "+name+" to rejoin as backup", func() bool {
		// Quorum: its raft runs and hears the leader (a restarted node
		// first sits out a heartbeat timeout; the leader may still list
		// it eligible from before it was killed), or it reached DynamoDB.
		st, err := c.Status(ctx, name)
		if err != nil || st.Role != "backup" || !st.Healthy || !st.Quorum {
			return false
		}
		ost, err := c.Status(ctx, c.other(name))
		if err != nil {
			return false
		}
		for _, p := range ost.Peers {
			if p.Name == name {
				return p.Eligible
			}
		}
		return c.dynamoDB()
	})
	if err != nil {
		c.progress.say("node %s did not rejoin: %v", name, err)
		return
	}
	if !c.o.JSON {
		fmt.Fprintf(c.o.Out, "  node %s is back as backup\n", name)
	}
}

// line prints one timeline entry at offset d from the fault.
func (c *Cluster) line(d time.Duration, format string, args ...any) {
	if c.o.JSON {
		return
	}
	fmt.Fprintf(c.o.Out, "  %+8.0f ms  %s\n", ms(d), fmt.Sprintf(format, args...))
}

func (c *Cluster) lastCallSeq() uint64 {
	calls := c.srv.Calls(c.seq)
	if len(calls) > 0 {
		c.seq = calls[len(calls)-1].Seq
	}
	return c.seq
}

// countCalls counts the EC2 calls vpcsim served after seq within [from, to],
// and the mutating ones among them.
func (c *Cluster) countCalls(seq uint64, from, to time.Time) (calls, writes int) {
	for _, call := range c.srv.Calls(seq) {
		if call.Service != "ec2" || call.Time.Before(from) || call.Time.After(to) {
			continue
		}
		calls++
		if !strings.HasPrefix(call.Action, "Describe") {
			writes++
		}
	}
	return calls, writes
}
