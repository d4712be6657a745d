package awsapi

import (
	"context"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Buckets paces one process's EC2 calls by the account's own rule: EC2
// throttles each action with a token bucket per account and Region
// ("Request throttling for the Amazon EC2 API": by default a mutating
// action has 50 tokens refilled at 5 a second, a Describe call with
// filters or IDs 100 refilled at 20). A process that makes most of an
// account's calls, such as a controller serving many clusters, keeps a
// copy of those buckets and sends an attempt only once its copy has a
// token, instead of sending it to be refused with RequestLimitExceeded
// and retrying after a random pause: a move whose first read was refused
// a few times started its writes seconds after the others, behind the
// other clusters' remaining tables. The wait happens where the attempt
// is made, after the caller's own queue (a controller's write gate), so
// that the attempts wait in order and the next token goes to the oldest
// one; a throttled answer empties the copy, since someone else in the
// account used the tokens.
//
// The zero value is not usable; NewBuckets makes one.
type Buckets struct {
	write, read BucketSize
	now         func() time.Time

	mu      sync.Mutex
	buckets map[string]*tokenBucket
}

// BucketSize is one kind of bucket: Size tokens, refilled at Refill a
// second.
type BucketSize struct {
	Size   int
	Refill float64
}

// tokenBucket is one action's copy: tokens at last. tokens goes below 0
// while attempts wait: each waiter reserved the token it waits for.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// refill adds what sz refilled since last, up to its size.
func (w *tokenBucket) refill(now time.Time, sz BucketSize) {
	w.tokens = min(float64(sz.Size), w.tokens+now.Sub(w.last).Seconds()*sz.Refill)
	w.last = now
}

// NewBuckets returns a bucket per EC2 action, full at first: write's size
// for a mutating action, read's for a Describe call.
func NewBuckets(write, read BucketSize) *Buckets {
	fix := func(b BucketSize) BucketSize {
		return BucketSize{Size: max(b.Size, 1), Refill: max(b.Refill, 0.001)}
	}
	return &Buckets{write: fix(write), read: fix(read), now: time.Now, buckets: map[string]*tokenBucket{}}
}

func (b *Buckets) sizeOf(action string) BucketSize {
	if mutating(action) {
		return b.write
	}
	return b.read
}

// mutating reports whether an EC2 action draws from a mutating bucket;
// AWS's throttling page puts Describe* (and the other reads) in buckets
// of their own. Unfiltered Describe calls (no filter, ID or pagination)
// have smaller buckets (50, refilled at 10) that vipd never uses.
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
func (b *Buckets) reserve(action string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now, sz := b.now(), b.sizeOf(action)
	w := b.buckets[action]
	if w == nil {
		w = &tokenBucket{tokens: float64(sz.Size), last: now}
		b.buckets[action] = w
	}
	w.refill(now, sz)
	w.tokens--
	if w.tokens >= 0 {
		return 0
	}
	return time.Duration(-w.tokens / sz.Refill * float64(time.Second))
}

// unreserve gives back a token reserved by an attempt that was not made.
func (b *Buckets) unreserve(action string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := b.buckets[action]; w != nil {
		w.tokens = min(float64(b.sizeOf(action).Size), w.tokens+1)
	}
}

// drain empties action's bucket after EC2 refused an attempt: tokens the
// copy believed in were used by someone else. Reservations already made
// keep their place.
func (b *Buckets) drain(action string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := b.buckets[action]; w != nil {
		w.refill(b.now(), b.sizeOf(action))
		w.tokens = min(w.tokens, 0)
	}
}

// wait blocks until action's next token, or ctx ends.
func (b *Buckets) wait(ctx context.Context, action string) error {
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

// middleware paces each attempt of an EC2 call. It sits right after the
// retry middleware, before the attempt's timeout starts, the fencing
// check and the signature, so that the wait counts against none of them.
func (b *Buckets) middleware(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("vipdBucket",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			action := awsmiddleware.GetOperationName(ctx)
			if awsmiddleware.GetServiceID(ctx) != "EC2" {
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
