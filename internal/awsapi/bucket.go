package awsapi

import (
	"context"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// WriteBuckets paces one process's EC2 writes by the account's own rule:
// EC2 throttles each mutating action with a token bucket per account and
// Region ("Request throttling for the Amazon EC2 API": by default 50
// tokens, refilled at 5 a second). A process that makes most of an
// account's writes, such as a controller serving many clusters, keeps a
// copy of those buckets and sends an attempt only once its copy has a
// token, instead of sending it to be refused with RequestLimitExceeded
// and retrying after a random pause. The wait happens where the attempt
// is made, after the caller's own queue (a controller's write gate), so
// that the attempts wait in order and the next token goes to the oldest
// one; a throttled answer empties the copy, since someone else in the
// account used the tokens. Reads are not paced.
//
// The zero value is not usable; NewWriteBuckets makes one.
type WriteBuckets struct {
	size, refill float64
	now          func() time.Time

	mu      sync.Mutex
	buckets map[string]*writeBucket
}

// writeBucket is one action's copy: tokens at last. tokens goes below 0
// while attempts wait: each waiter reserved the token it waits for.
type writeBucket struct {
	tokens float64
	last   time.Time
}

// NewWriteBuckets returns buckets of size tokens refilled at refill tokens
// a second, one per mutating EC2 action, full at first.
func NewWriteBuckets(size int, refill float64) *WriteBuckets {
	return &WriteBuckets{size: float64(max(size, 1)), refill: max(refill, 0.001), now: time.Now,
		buckets: map[string]*writeBucket{}}
}

// mutating reports whether an EC2 action draws from a mutating bucket:
// AWS's throttling page puts Describe* (and the other reads) in buckets
// of their own.
func mutating(action string) bool {
	for _, p := range []string{"Describe", "Get", "List", "Search"} {
		if strings.HasPrefix(action, p) {
			return false
		}
	}
	return true
}

// reserve takes a token of action's bucket and returns how long to wait
// until it is there.
func (b *WriteBuckets) reserve(action string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	w := b.buckets[action]
	if w == nil {
		w = &writeBucket{tokens: b.size, last: now}
		b.buckets[action] = w
	}
	w.tokens = min(b.size, w.tokens+now.Sub(w.last).Seconds()*b.refill)
	w.last = now
	w.tokens--
	if w.tokens >= 0 {
		return 0
	}
	return time.Duration(-w.tokens / b.refill * float64(time.Second))
}

// unreserve gives back a token reserved by an attempt that was not made.
func (b *WriteBuckets) unreserve(action string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := b.buckets[action]; w != nil {
		w.tokens = min(b.size, w.tokens+1)
	}
}

// drain empties action's bucket after EC2 refused an attempt: tokens the
// copy believed in were used by someone else. Reservations already made
// keep their place.
func (b *WriteBuckets) drain(action string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := b.buckets[action]; w != nil {
		now := b.now()
		w.tokens = min(b.size, w.tokens+now.Sub(w.last).Seconds()*b.refill, 0)
		w.last = now
	}
}

// wait blocks until action's next token, or ctx ends.
func (b *WriteBuckets) wait(ctx context.Context, action string) error {
	d := b.reserve(action)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.unreserve(action)
		return ctx.Err()
	}
}

// middleware paces each attempt of an EC2 write. It sits right after the
// retry middleware, before the attempt's timeout starts, the fencing
// check and the signature, so that the wait counts against none of them.
func (b *WriteBuckets) middleware(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("vipdWriteBucket",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			action := awsmiddleware.GetOperationName(ctx)
			if awsmiddleware.GetServiceID(ctx) != "EC2" || !mutating(action) {
				return next.HandleFinalize(ctx, in)
			}
			if err := b.wait(ctx, action); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			out, md, err := next.HandleFinalize(ctx, in)
			if err != nil && isThrottle(err) {
				b.drain(action)
			}
			return out, md, err
		})
	if _, ok := stack.Finalize.Get("Retry"); ok {
		return stack.Finalize.Insert(mw, "Retry", middleware.After)
	}
	return stack.Finalize.Add(mw, middleware.After)
}
