// Package fence carries a lease grant's fencing token from the election to
// every AWS write, so that a write made under a stale grant can be refused
// before it is sent and identified after it was sent.
//
// EC2 takes no fencing token, so vipd layers its fencing (see design.md):
// a write is sent only while its grant stays valid for longer than a margin,
// checked before every attempt (Bound, and awsapi's middleware for the
// SDK's retries), and the token travels in the User-Agent of the call
// (awsapi's middleware) so that vpcsim's call log and CloudTrail show which
// grant made each write.
//
// # The margin
//
// AWS may apply a request at any time until it answers, so what a stale
// grant must not do is send: the margin is the time a request sent at the
// last allowed moment has to land before its grant ends, on top of the
// election's own gap before another node can hold (raft: 0.2 ×
// HeartbeatTimeout, 0.09 × lease, plus an election and a commit). It is
// proportional to the lease (Margin: a tenth), since the lease is what the
// operator sized to EC2's latency. No client-side margin bounds how late
// AWS may apply a request (EC2's tail is seconds); the holder's reconcile
// repairs such a late write (design.md, fencing layer 4).
//
// A write waits for its answer while the grant lasts: its context ends at
// its own timeout or when the grant's validity ends, re-read whenever that
// instant comes, so renewals keep it alive. A grant that is valid but for no
// more than the margin when a write starts is waited for until a renewal
// extends it. A write may thus take longer than one renewal's validity (a
// 600 ms lease gives about 220 ms, less than EC2's slower answers); cutting
// writes at a fixed instant, or a margin before the grant's end, made
// writes of short leases fail and be sent again while the grant was fine.
//
// Any package may import fence; it imports nothing of vipd.
package fence

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrStale reports that the grant a write was made under is no longer valid,
// or will not stay valid for as long as the write may take.
var ErrStale = errors.New("fencing token is stale")

// Validity reports until when (on this process's monotonic clock, as
// returned by time.Now) the grant with the given token stays valid. ok is
// false when the grant is no longer held at all.
type Validity func(token uint64) (until time.Time, ok bool)

// Token is one grant of the lease. The zero Token is never valid.
type Token struct {
	n      uint64
	valid  Validity
	margin time.Duration
}

// New returns the token n whose validity is answered by v, with the margin
// MinMargin; WithMargin sets the lease's.
func New(n uint64, v Validity) Token { return Token{n: n, valid: v, margin: MinMargin} }

// MinMargin is the smallest margin.
const MinMargin = 50 * time.Millisecond

// Margin returns the margin for a lease of the given duration: a tenth of
// it, at least MinMargin (package doc).
func Margin(lease time.Duration) time.Duration { return max(lease/10, MinMargin) }

// WithMargin returns t with margin m (at least MinMargin): an attempt is
// sent only while the grant stays valid for longer.
func (t Token) WithMargin(m time.Duration) Token {
	t.margin = max(m, MinMargin)
	return t
}

// Margin returns how long the grant must stay valid for a write under t to
// be sent.
func (t Token) Margin() time.Duration { return t.margin }

// N returns the token's number. Numbers strictly increase with every grant.
func (t Token) N() uint64 { return t.n }

// String formats the token for logs and the User-Agent.
func (t Token) String() string { return fmt.Sprintf("%d", t.n) }

// Check returns nil when the grant stays valid for at least margin from now,
// and an error wrapping ErrStale otherwise. Callers pass the deadline of the
// write they are about to make, so a write never outlives its grant.
func (t Token) Check(margin time.Duration) error {
	if t.valid == nil || t.n == 0 {
		return fmt.Errorf("token %d: %w", t.n, ErrStale)
	}
	until, ok := t.valid(t.n)
	if !ok {
		return fmt.Errorf("token %d: grant lost: %w", t.n, ErrStale)
	}
	if left := time.Until(until); left < margin {
		return fmt.Errorf("token %d: valid for %s, write needs %s: %w", t.n, left.Round(time.Millisecond), margin, ErrStale)
	}
	return nil
}

// Until returns the instant until which the grant stays valid, or an error
// wrapping ErrStale when it is no longer held.
func (t Token) Until() (time.Time, error) {
	if t.valid == nil || t.n == 0 {
		return time.Time{}, fmt.Errorf("token %d: %w", t.n, ErrStale)
	}
	until, ok := t.valid(t.n)
	if !ok {
		return time.Time{}, fmt.Errorf("token %d: grant lost: %w", t.n, ErrStale)
	}
	return until, nil
}

// Bound returns ctx limited to at most timeout and to the grant's validity,
// re-read each time that instant comes, so that renewals keep a write
// alive and a write is never waited for past the grant's end. It returns
// once the grant stays valid for longer than the token's margin: a grant
// valid for less is waited for (within timeout and ctx) until a renewal
// extends it, since a renewal a little late is no reason to fail the write;
// it fails with ErrStale when the grant ends or is lost first. The returned
// cancel must be called; it waits for the goroutine that follows the
// grant. When the grant's end cuts the write short, context.Cause of the
// returned context wraps ErrStale.
func (t Token) Bound(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc, error) {
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	until, err := t.renewed(ctx)
	if err != nil {
		cancelTimeout()
		return nil, nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.follow(ctx, until, cancel)
	}()
	return WithToken(ctx, t), func() {
		cancel(context.Canceled)
		<-done
		cancelTimeout()
	}, nil
}

// renewed returns the grant's validity once it exceeds the margin from now,
// polling while it does not, until the grant ends or ctx does.
func (t Token) renewed(ctx context.Context) (time.Time, error) {
	poll := max(t.margin/10, time.Millisecond)
	for {
		until, err := t.Until()
		if err != nil {
			return time.Time{}, err
		}
		left := time.Until(until)
		if left > t.margin {
			return until, nil
		}
		if left <= 0 {
			return time.Time{}, fmt.Errorf("token %d: grant ended: %w", t.n, ErrStale)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("token %d: valid for %s, not beyond the %s margin a write keeps, and not renewed in time: %w (%w)",
				t.n, left.Round(time.Millisecond), t.margin, ErrStale, context.Cause(ctx))
		case <-time.After(min(poll, left)):
		}
	}
}

// follow cancels ctx once the grant is no longer valid, waking only at the
// instant the last validity it read says so.
func (t Token) follow(ctx context.Context, until time.Time, cancel context.CancelCauseFunc) {
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		u, err := t.Until()
		if err != nil {
			cancel(fmt.Errorf("write cut short: %w", err))
			return
		}
		left := time.Until(u)
		if left <= 0 {
			cancel(fmt.Errorf("token %d: write cut short at the grant's end, not renewed: %w", t.n, ErrStale))
			return
		}
		timer.Reset(left)
	}
}

// CheckContext is Check with the margin taken from ctx's deadline. A context
// without a deadline is refused: every write must be bounded.
func (t Token) CheckContext(ctx context.Context) error {
	dl, ok := ctx.Deadline()
	if !ok {
		return fmt.Errorf("token %d: write without a deadline: %w", t.n, ErrStale)
	}
	return t.Check(time.Until(dl))
}

type ctxKey struct{}

// WithToken returns a context that carries t, read by the AWS middleware
// that puts the token into the User-Agent of each call.
func WithToken(ctx context.Context, t Token) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// FromContext returns the token carried by ctx, if any.
func FromContext(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(ctxKey{}).(Token)
	return t, ok
}
