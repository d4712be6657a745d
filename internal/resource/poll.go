package resource

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Backoff paces a poll of AWS: the first pause is first, each next one
// twice the last, up to most, so that a quick change is seen quickly and a
// slow one does not cost a call every few milliseconds.
type Backoff struct {
	next, most time.Duration
}

// NewBackoff returns a Backoff whose pauses start at first and stop
// growing at most.
func NewBackoff(first, most time.Duration) *Backoff {
	return &Backoff{next: first, most: most}
}

// Wait pauses for the current delay and doubles the next one. It returns
// false as soon as ctx ends, which the caller reports with what it last saw.
func (b *Backoff) Wait(ctx context.Context) bool {
	t := time.NewTimer(b.next)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	b.next = min(2*b.next, b.most)
	return true
}

// Verify reads back with read until it reports InSync, riding out EC2's
// eventual consistency after a write: it pauses 50 ms after the first
// read, doubling up to 500 ms, within ctx. A failed read ends it, and so
// does ctx, with the drift last read.
func Verify(ctx context.Context, read func(ctx context.Context) (Status, error)) error {
	b := NewBackoff(50*time.Millisecond, 500*time.Millisecond)
	for {
		st, err := read(ctx)
		if err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		if st.InSync {
			return nil
		}
		if !b.Wait(ctx) {
			return fmt.Errorf("verify: %s: %w", strings.Join(st.Drift, "; "), ctx.Err())
		}
	}
}
