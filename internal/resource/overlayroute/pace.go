package overlayroute

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vipd/vipd/internal/awsapi"
)

// How one acquire's throttled route writes ask EC2 again (bench/RESULTS.md,
// the storm). When an Availability Zone fails, every cluster of the
// account moves at once and EC2's bucket of mutating calls (50, refilled
// at 5 a second, "Request throttling for the Amazon EC2 API") runs dry.
// The clusters that noticed first have by then had their burst for all
// their routes; the others queue for the refill. If every waiting write
// asks again as eagerly as any other, a cluster that still routes nothing
// to its new owner wins a refill token no more often than one that already
// serves its clients and completes its last tables, so half the clusters
// finish while the rest still have no route at all.
//
// Agents do not know of each other, but a throttled answer says the
// account is queueing, and each acquire knows what it already holds. So,
// only while throttled (an acquire that is not throttled never waits):
//
//   - the first write, which gives the cluster its service back, asks
//     again within firstMost, a refill interval (200 ms), so that a
//     waiting first write is first in line for each new token;
//   - the later writes, for yieldFor from the acquire's start, yield:
//     once throttled, or from the start when the first write was, each
//     pause is drawn between half and all of yieldScale × the share of
//     the routes the acquire already holds (one of two tables: 0.75 to
//     1.5 s), so that they ask about a tenth as often as a first write
//     and the refill goes to the clusters that hold nothing. Tokens not
//     asked for stay in the bucket, so the account's writes do not slow
//     down as a whole; after yieldFor they ask as every other call does,
//     so that the last routes of the storm are not late for their
//     tokens. Longer pauses order the writes more strictly but leave the
//     last routes of a small storm (30 clusters, 60 writes) waiting after
//     the bucket has refilled.
//
// Under a controller's write gate (resource.Gated) the gate orders the
// writes, and none is paced: a write holds one of the gate's few slots
// while it is retried, and a first write asking five times a second from
// each slot drew three times the throttled answers and left the gate's
// order worse (bench/RESULTS.md, the controller's storm).
const (
	firstMost  = 200 * time.Millisecond
	yieldFor   = 5 * time.Second
	yieldScale = 3 * time.Second
)

// pacer is one acquire's share of the account's writes.
type pacer struct {
	start time.Time
	// total is the acquire's routes; have, those it holds (pointing at
	// self, read or written).
	total int
	have  atomic.Int64
	// yield is false under a write gate: no write is paced.
	yield bool
	// throttled is set once the first write was throttled.
	throttled atomic.Bool
	now       func() time.Time
}

func newPacer(total, have int, yield bool, now func() time.Time) *pacer {
	p := &pacer{start: now(), total: total, yield: yield, now: now}
	p.have.Store(int64(have))
	return p
}

// first paces the acquire's first write.
func (p *pacer) first(attempt int, most time.Duration, u float64) time.Duration {
	p.throttled.Store(true)
	if !p.yield {
		return awsapi.ThrottleDelay(attempt, most, u)
	}
	return awsapi.ThrottleDelay(attempt, min(most, firstMost), u)
}

// later paces the writes after the first.
func (p *pacer) later(attempt int, most time.Duration, u float64) time.Duration {
	if d, ok := p.yielding(u); ok {
		return d
	}
	return awsapi.ThrottleDelay(attempt, most, u)
}

// yielding returns a later write's pause while it yields, early in the
// acquire: between half and all of yieldScale × the share of the routes
// held (u picks where), never short, so that a yielding write does not
// now and then ask as soon as a first write would.
func (p *pacer) yielding(u float64) (time.Duration, bool) {
	have := p.have.Load()
	if !p.yield || have <= 0 || p.total <= 0 || p.now().Sub(p.start) >= yieldFor {
		return 0, false
	}
	return time.Duration((0.5 + 0.5*u) * float64(yieldScale) * float64(have) / float64(p.total)), true
}

// before pauses a later write before its first attempt when the first
// write was throttled: the bucket is known to be empty, and asking at
// once, as the first write lands, would take the next token from a
// cluster that holds nothing. It returns false if ctx ended.
func (p *pacer) before(ctx context.Context) bool {
	if !p.throttled.Load() {
		return true
	}
	d, ok := p.yielding(rand.Float64())
	if !ok {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// option is the EC2 operation option that paces one call by pace.
func option(pace awsapi.Pace) func(*ec2.Options) {
	return func(o *ec2.Options) { o.Retryer = awsapi.Paced(o.Retryer, pace) }
}
