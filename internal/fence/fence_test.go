package fence

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// renewed is a grant that an election keeps renewing: every read says it is
// valid for another window from now, until stop is called; after that it
// stays valid until the last instant it reported, as a grant whose holder
// stopped hearing from its quorum.
type renewed struct {
	window  time.Duration
	stopped atomic.Bool
	last    atomic.Int64 // UnixNano of the last until reported
	lost    atomic.Bool
}

func (r *renewed) valid(uint64) (time.Time, bool) {
	if r.lost.Load() {
		return time.Time{}, false
	}
	if r.stopped.Load() {
		return time.Unix(0, r.last.Load()), true
	}
	u := time.Now().Add(r.window)
	r.last.Store(u.UnixNano())
	return u, true
}

// A write under a grant that keeps being renewed may take longer than one
// renewal's validity: with a 600 ms lease raft's grant is valid about 220 ms
// after each renewal, and EC2's mutating calls take 120 ms in the median
// with a tail well past that. Cutting the write at the validity read when it
// started made such writes fail and be sent again (issue 16, finding 9).
func TestBoundFollowsRenewals(t *testing.T) {
	r := &renewed{window: 100 * time.Millisecond}
	tok := New(1, r.valid).WithMargin(50 * time.Millisecond)
	ctx, cancel, err := tok.Bound(t.Context(), 10*time.Second)
	if err != nil {
		t.Fatalf("Bound under a fresh grant: %v", err)
	}
	defer cancel()
	select {
	case <-ctx.Done():
		t.Fatalf("write under a renewed grant ended after less than 4 validity windows: %v", context.Cause(ctx))
	case <-time.After(4 * r.window):
	}
	if _, ok := FromContext(ctx); !ok {
		t.Error("the write's context does not carry its token")
	}
}

// When renewals stop, the write is given up when the grant ends as it last
// reported, not before, and says why.
func TestBoundCutsWriteAtGrantEnd(t *testing.T) {
	r := &renewed{window: 300 * time.Millisecond}
	tok := New(2, r.valid).WithMargin(100 * time.Millisecond)
	ctx, cancel, err := tok.Bound(t.Context(), 10*time.Second)
	if err != nil {
		t.Fatalf("Bound: %v", err)
	}
	defer cancel()
	r.stopped.Store(true)
	end := time.Unix(0, r.last.Load())
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("write not cut short 10 s after its grant stopped being renewed")
	}
	if now := time.Now(); now.Before(end) {
		t.Errorf("write cut %s before the grant's end", end.Sub(now))
	}
	if cause := context.Cause(ctx); !errors.Is(cause, ErrStale) {
		t.Errorf("cause = %v, want ErrStale", cause)
	}
}

// A grant lost outright ends the writes under it.
func TestBoundEndsWhenGrantLost(t *testing.T) {
	r := &renewed{window: 200 * time.Millisecond}
	tok := New(3, r.valid).WithMargin(MinMargin)
	ctx, cancel, err := tok.Bound(t.Context(), 10*time.Second)
	if err != nil {
		t.Fatalf("Bound: %v", err)
	}
	defer cancel()
	r.lost.Store(true)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("write not ended 10 s after its grant was lost")
	}
	if cause := context.Cause(ctx); !errors.Is(cause, ErrStale) {
		t.Errorf("cause = %v, want ErrStale", cause)
	}
}

// A write does not start under a grant valid for no longer than the margin,
// and the margin grows with the lease: 50 ms of validity left is not enough
// under a 2 s lease (issue 16, finding 6).
func TestBoundRefusesWithinMargin(t *testing.T) {
	for _, tc := range []struct {
		lease, left time.Duration
		ok          bool
	}{
		{lease: 2 * time.Second, left: 60 * time.Millisecond, ok: false},
		{lease: 2 * time.Second, left: 190 * time.Millisecond, ok: false},
		{lease: 2 * time.Second, left: time.Second, ok: true},
		{lease: 600 * time.Millisecond, left: 40 * time.Millisecond, ok: false},
		{lease: 600 * time.Millisecond, left: 200 * time.Millisecond, ok: true},
	} {
		until := time.Now().Add(tc.left)
		tok := New(4, func(uint64) (time.Time, bool) { return until, true }).WithMargin(Margin(tc.lease))
		ctx, cancel, err := tok.Bound(t.Context(), time.Second)
		if tc.ok != (err == nil) {
			t.Errorf("lease %s, %s left: Bound err = %v, want ok %v", tc.lease, tc.left, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrStale) {
			t.Errorf("lease %s, %s left: err = %v, want ErrStale", tc.lease, tc.left, err)
		}
		if err == nil {
			if ctx.Err() != nil {
				t.Errorf("lease %s, %s left: context already done: %v", tc.lease, tc.left, context.Cause(ctx))
			}
			cancel()
		}
	}
}

// A grant within its margin that a renewal extends a moment later lets the
// write start then, instead of failing it: failing costs the whole acquire
// a retry after a back-off, and the address a second move.
func TestBoundWaitsForLateRenewal(t *testing.T) {
	var renewed atomic.Bool
	start := time.Now()
	tok := New(7, func(uint64) (time.Time, bool) {
		if renewed.Load() {
			return time.Now().Add(time.Second), true
		}
		return start.Add(150 * time.Millisecond), true
	}).WithMargin(200 * time.Millisecond)
	go func() {
		time.Sleep(50 * time.Millisecond)
		renewed.Store(true)
	}()
	ctx, cancel, err := tok.Bound(t.Context(), 10*time.Second)
	if err != nil {
		t.Fatalf("Bound under a grant renewed while it waited: %v", err)
	}
	defer cancel()
	if ctx.Err() != nil {
		t.Errorf("write context already done: %v", context.Cause(ctx))
	}
}

func TestMarginProportionalToLease(t *testing.T) {
	for _, tc := range []struct{ lease, want time.Duration }{
		{2 * time.Second, 200 * time.Millisecond},
		{600 * time.Millisecond, 60 * time.Millisecond},
		{100 * time.Millisecond, MinMargin},
	} {
		if got := Margin(tc.lease); got != tc.want {
			t.Errorf("Margin(%s) = %s, want %s", tc.lease, got, tc.want)
		}
	}
	if got := New(5, nil).WithMargin(time.Millisecond).Margin(); got != MinMargin {
		t.Errorf("WithMargin(1ms).Margin() = %s, want the floor %s", got, MinMargin)
	}
}

// The write's own timeout still applies under a grant that lasts.
func TestBoundKeepsTimeout(t *testing.T) {
	tok := New(6, func(uint64) (time.Time, bool) { return time.Now().Add(time.Hour), true })
	ctx, cancel, err := tok.Bound(t.Context(), 50*time.Millisecond)
	if err != nil {
		t.Fatalf("Bound: %v", err)
	}
	defer cancel()
	if _, ok := ctx.Deadline(); !ok {
		t.Error("write context has no deadline")
	}
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("err = %v, want the timeout", ctx.Err())
	}
}
