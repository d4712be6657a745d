package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
)

// spotWarning is how long the demo's Spot interruption notice gives before
// EC2 stops the instance: two minutes on AWS, shortened so that a round
// takes seconds. The address moves within about a second of the node
// reading the notice, so the warning's length changes nothing but the wait.
const spotWarning = 10 * time.Second

// noticeInterval is how often the demo's nodes read their instance
// notices (instance-notices.interval; 5s by default, as AWS recommends).
const noticeInterval = time.Second

// handoverStart is when node m, after announced, began handing the address
// over because of an instance notice (its transition to releasing), or
// zero when its status does not show one.
func (c *Cluster) handoverStart(ctx context.Context, m string, announced time.Time) time.Time {
	st, err := c.Status(ctx, m)
	if err != nil {
		return time.Time{}
	}
	for _, t := range st.Transitions {
		if t.At.After(announced) && t.To == "releasing" && strings.HasPrefix(t.Reason, "instance notice") {
			return t.At
		}
	}
	return time.Time{}
}

// awaitSpotStop waits for EC2 to carry the interruption of m's instance
// out, then ends m's processes as the stopped instance ends them, and
// returns when the instance stopped.
func (c *Cluster) awaitSpotStop(ctx context.Context, m string) (time.Time, error) {
	var at time.Time
	err := c.progress.wait(ctx, spotWarning+failoverTimeout, "waiting for EC2 to stop node "+m+"'s instance", func() bool {
		for _, in := range c.srv.Snapshot().Instances {
			if in.ID == c.InstanceID(m) && in.State == "stopped" {
				at = time.Now()
				return true
			}
		}
		return false
	})
	if err != nil {
		return at, err
	}
	c.Kill(m)
	return at, nil
}

// spotRound fills in what the Spot scenario measures beyond a failover:
// when the primary acted on the notice (the failover counts from there,
// as a switchover counts from the command), and when EC2 stopped the
// instance. It returns the failover's start.
func (c *Cluster) spotRound(ctx context.Context, r *Round, p string, announced time.Time) time.Time {
	t0 := c.handoverStart(ctx, p, announced)
	if t0.IsZero() {
		r.Error = "node " + p + " did not hand the address over on the notice"
		return announced
	}
	r.NoticeMS = ms(t0.Sub(announced))
	c.line(-t0.Sub(announced), "EC2 announces a Spot interruption of node %s's instance: stop in %s (two minutes on AWS)", p, spotWarning)
	c.line(0, "node %s reads the notice (polled every %s) and hands the address over, as vipd standby does", p, noticeInterval)
	return t0
}

// finishSpot waits for the interrupted instance to stop, reports it, and
// starts it again so that the next round has two nodes.
func (c *Cluster) finishSpot(ctx context.Context, r *Round, p string, spot simcluster.Injected, announced, t0 time.Time) {
	stopped, err := c.awaitSpotStop(ctx, p)
	if err != nil {
		r.Error = fmt.Sprintf("instance of node %s not stopped: %v", p, err)
		return
	}
	r.StoppedMS = ms(stopped.Sub(announced))
	c.line(stopped.Sub(t0), "EC2 stops node %s's instance (its vipd and service go with it); the address had moved %.0f ms before",
		p, ms(stopped.Sub(t0))-r.FailoverMS)
	if err := spot.Heal(); err != nil {
		r.Error = fmt.Sprintf("start instance of node %s again: %v", p, err)
	}
}
