package awsapi

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// Throttling backoff: the first pause is drawn from [0, throttleBase),
// each next one's range doubles, up to [0, ThrottleBackoff).
const throttleBase = 100 * time.Millisecond

// retryer is vipd's one retry layer for AWS calls: the SDK's standard
// retryer (which errors are retryable, its jittered backoff for them),
// except that a throttled call — RequestLimitExceeded, Throttling and the
// SDK's other throttle codes — is retried for as long as the caller's
// context allows rather than a fixed number of attempts, after a pause
// drawn at random from a range that doubles up to a cap ("full jitter").
//
// EC2 throttles per account and action with a token bucket ("Request
// throttling for the Amazon EC2 API": mutating actions 50, refilled at 5
// a second). When an Availability Zone fails, every HA pair of the
// account writes at once and most writes are throttled; the bucket then
// grants about 5 a second to whoever asks first after a refill. A fixed
// attempt count makes writers give up while tokens still come (their
// cluster then waits for the caller's own retry, seconds later), and a
// backoff that keeps growing makes the writers that failed most ask
// least (the slowest cluster starves). Retrying every throttled call
// until its deadline, each after a fresh random pause under a small cap,
// gives every waiting writer the same chance at each token, keeps the
// bucket from idling, and spreads the retries so that they do not arrive
// in lockstep. Callers therefore bound a call by its context (the step's
// budget, the fencing grant), and each attempt by the attempt timeout
// (attemptTimeout), not by a count of attempts.
type retryer struct {
	aws.RetryerV2
	// attempts bounds the attempts of calls that fail otherwise than
	// throttled (server errors, timeouts); throttled bounds those of
	// throttled calls, 0 for no bound but the context.
	attempts, throttled int
	// most is the cap of a throttled call's pause.
	most time.Duration
	// pace, if set, draws a throttled call's pauses instead of
	// throttleDelay (Paced).
	pace Pace
}

// A Pace draws the pause of a throttled call before its next attempt:
// attempt is the number of attempts made so far (1 after the first), most
// the retryer's cap (aws.throttle-backoff) and u a number drawn uniformly
// from [0, 1). ThrottleDelay is the pace of every call that sets none.
type Pace func(attempt int, most time.Duration, u float64) time.Duration

// Paced returns r with the throttled pauses of the calls made through it
// drawn by p, for one call (an operation option: o.Retryer = Paced(o.Retryer,
// p)): a caller that knows its call matters more or less to the account
// than the others waiting on the same bucket sets how eagerly it asks
// again. Whether a call is retried, and for how long, stays r's; a
// retryer that is not vipd's is returned unchanged.
func Paced(r aws.Retryer, p Pace) aws.Retryer {
	vr, ok := r.(*retryer)
	if !ok || p == nil {
		return r
	}
	c := *vr
	c.pace = p
	return &c
}

// newRetryer returns the retryer: standard behaviour with at most attempts
// attempts and pauses under maxBackoff for retryable errors, throttled
// calls retried within their context (and at most throttled attempts, if
// not 0) with pauses under throttleMax.
func newRetryer(attempts, throttled int, maxBackoff, throttleMax time.Duration) *retryer {
	std := retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = attempts
		so.MaxBackoff = maxBackoff
		// The client-side retry quota would stop retrying after a
		// burst of throttles, exactly when a failover needs it.
		so.RateLimiter = ratelimit.None
	})
	return &retryer{RetryerV2: std, attempts: attempts, throttled: throttled, most: throttleMax}
}

// MaxAttempts is 0, no limit, for the SDK's retry loop: RetryDelay stops
// calls after their attempts, and the caller's context stops throttled
// ones.
func (r *retryer) MaxAttempts() int { return 0 }

// RetryDelay returns the pause before attempt+1, or, for a call that is
// not throttled and has had its attempts, an error that ends it (a
// retry.MaxAttemptsError wrapping the call's error, as the standard
// retryer's limit gives).
func (r *retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	if !isThrottle(err) {
		if attempt >= r.attempts {
			return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
		}
		return r.RetryerV2.RetryDelay(attempt, err)
	}
	if r.throttled > 0 && attempt >= r.throttled {
		return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
	}
	if r.pace != nil {
		return r.pace(attempt, r.most, rand.Float64()), nil
	}
	return ThrottleDelay(attempt, r.most, rand.Float64()), nil
}

// ThrottleDelay is the pause after the attempt-th throttled attempt: u
// (in [0, 1)) of min(most, throttleBase × 2^(attempt-1)).
func ThrottleDelay(attempt int, most time.Duration, u float64) time.Duration {
	ceil := most
	if attempt < 32 {
		ceil = min(most, throttleBase<<max(attempt-1, 0))
	}
	return time.Duration(u * float64(ceil))
}

// isThrottle reports whether err is AWS throttling the call.
func isThrottle(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
}

// attemptTimeout bounds each attempt of a call by d: an attempt that gets
// no answer in time ends the call (the SDK does not retry a cancelled
// request), as a per-call timeout would, while a throttled call's pauses
// between attempts count only against the caller's context. It sits in
// the Finalize step after the SDK's retry middleware, so it runs once per
// attempt.
func attemptTimeout(d time.Duration) func(*middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("vipdAttemptTimeout",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next.HandleFinalize(ctx, in)
		})
	return func(stack *middleware.Stack) error {
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(mw, "Retry", middleware.After)
		}
		return stack.Finalize.Add(mw, middleware.After)
	}
}

// lastThrottle carries a call's latest throttled answer from its attempts
// (after the retry middleware) to the call as a whole (before it).
type lastThrottle struct{ err error }

type lastThrottleKey struct{}

// ThrottledError is a call that was still throttled when its context ended:
// it wraps both AWS's last answer (so that Code gives RequestLimitExceeded)
// and the context's error.
type ThrottledError struct {
	Last, Err error
}

func (e *ThrottledError) Error() string   { return fmt.Sprintf("%v (throttled: %v)", e.Err, e.Last) }
func (e *ThrottledError) Unwrap() []error { return []error{e.Last, e.Err} }

// keepThrottle makes a call that its context ended while AWS throttled it
// fail with the throttling code, not only with "context deadline
// exceeded": the operator then reads RequestLimitExceeded in the log and
// the vipd_aws_throttles_total metric counts it.
func keepThrottle(stack *middleware.Stack) error {
	outer := middleware.FinalizeMiddlewareFunc("vipdKeepThrottle",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			lt := &lastThrottle{}
			out, md, err := next.HandleFinalize(context.WithValue(ctx, lastThrottleKey{}, lt), in)
			if err != nil && lt.err != nil && ctx.Err() != nil && !isThrottle(err) {
				err = &ThrottledError{Last: lt.err, Err: err}
			}
			return out, md, err
		})
	inner := middleware.FinalizeMiddlewareFunc("vipdRecordThrottle",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleFinalize(ctx, in)
			if lt, ok := ctx.Value(lastThrottleKey{}).(*lastThrottle); ok && err != nil && isThrottle(err) {
				lt.err = err
			}
			return out, md, err
		})
	if _, ok := stack.Finalize.Get("Retry"); !ok {
		return nil
	}
	if err := stack.Finalize.Insert(outer, "Retry", middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Insert(inner, "Retry", middleware.After)
}
