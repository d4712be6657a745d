// Package fence carries a lease grant's fencing token from the election to
// every AWS write, so that a write made under a stale grant can be refused
// before it is sent and identified after it was sent.
//
// EC2 takes no fencing token, so vipd layers its fencing (see design.md):
// a write is made only while the grant is valid for longer than the write's
// own deadline (Check), and the token travels in the User-Agent of the call
// (awsapi's middleware) so that vpcsim's call log and CloudTrail show which
// grant made each write.
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
	n     uint64
	valid Validity
}

// New returns the token n whose validity is answered by v.
func New(n uint64, v Validity) Token { return Token{n: n, valid: v} }

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

// MinWrite is the shortest time a grant must still be valid for a write to
// start under it: below it no AWS call can complete.
const MinWrite = 50 * time.Millisecond

// Bound returns ctx limited to at most timeout and to the grant's validity,
// so that a write started under it cannot outlive the grant. It fails with
// ErrStale when less than MinWrite of validity is left.
func (t Token) Bound(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc, error) {
	until, err := t.Until()
	if err != nil {
		return nil, nil, err
	}
	dl := time.Now().Add(timeout)
	if until.Before(dl) {
		dl = until
	}
	if left := time.Until(dl); left < MinWrite {
		return nil, nil, fmt.Errorf("token %d: valid for %s, below the %s a write needs: %w", t.n, left.Round(time.Millisecond), MinWrite, ErrStale)
	}
	ctx, cancel := context.WithDeadline(ctx, dl)
	return WithToken(ctx, t), cancel, nil
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
