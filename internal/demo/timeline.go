package demo

import (
	"slices"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/vpcsim"
)

// parts cuts one failover, from the fault to the client's first answer
// from the new primary, into consecutive intervals on one clock, so that
// they add up to the whole (issue 20: the AWS figure used to be the
// resource steps of the last acquire attempt, summed, which left out
// retried attempts and, the steps overlapping, could exceed the failover).
type parts struct {
	// Detection: the fault until the new primary starts acquiring.
	Detection time.Duration
	// AWS: acquiring until the route points at the new primary, every
	// attempt of the acquire with its retries and back-off included.
	AWS time.Duration
	// Client: the route pointing at the new primary until the client's
	// next attempt is answered by it.
	Client time.Duration
}

// cut splits [fault, served] at acquiring and routed. A point that is
// unknown (zero) or out of order is moved to the nearest possible place:
// an unknown acquiring start to the fault, a route seen after the client
// was served to the serving (the client proves the route), so the parts
// never overlap and always add up.
func cut(fault, acquiring, routed, served time.Time) parts {
	clamp := func(t, lo, hi time.Time) time.Time {
		switch {
		case t.IsZero() || t.Before(lo):
			return lo
		case t.After(hi):
			return hi
		}
		return t
	}
	// Whole microseconds, as Round reports them, so that the reported
	// parts add up exactly.
	fault, acquiring, routed, served = fault.Truncate(time.Microsecond), acquiring.Truncate(time.Microsecond),
		routed.Truncate(time.Microsecond), served.Truncate(time.Microsecond)
	acquiring = clamp(acquiring, fault, served)
	if routed.IsZero() {
		routed = served
	}
	routed = clamp(routed, acquiring, served)
	return parts{Detection: acquiring.Sub(fault), AWS: routed.Sub(acquiring), Client: served.Sub(routed)}
}

// attempts are the EC2 calls one node made while acquiring: how many, how
// many wrote, and those that failed (throttled, server errors), which the
// SDK retried or the node's next acquire attempt repeated.
type attempts struct {
	Calls, Writes int
	Failed        []vpcsim.Call
}

// acquireCalls picks, from vpcsim's call history, the EC2 calls instance
// made that started within [from, to].
func acquireCalls(calls []vpcsim.Call, instance string, from, to time.Time) attempts {
	var a attempts
	for _, c := range calls {
		if c.Service != "ec2" || c.Caller != instance || c.Time.Before(from) || c.Time.After(to) {
			continue
		}
		a.Calls++
		if !isRead(c.Action) {
			a.Writes++
		}
		if c.Code != "" {
			a.Failed = append(a.Failed, c)
		}
	}
	slices.SortFunc(a.Failed, func(x, y vpcsim.Call) int { return x.Time.Compare(y.Time) })
	return a
}

// codes counts the failed calls by error code.
func (a attempts) codes() map[string]int {
	if len(a.Failed) == 0 {
		return nil
	}
	m := map[string]int{}
	for _, c := range a.Failed {
		m[c.Code]++
	}
	return m
}

func isRead(action string) bool { return strings.HasPrefix(action, "Describe") }
