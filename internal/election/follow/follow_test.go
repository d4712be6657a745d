package follow_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/election/follow"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/health"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// primary is a primary check the test flips.
type primary struct {
	mu      sync.Mutex
	ok      bool
	changes chan struct{}
}

func newPrimary() *primary { return &primary{changes: make(chan struct{}, 1)} }

func (p *primary) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (p *primary) Healthy() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ok
}
func (p *primary) Changes() <-chan struct{} { return p.changes }
func (p *primary) set(ok bool) {
	p.mu.Lock()
	p.ok = ok
	p.mu.Unlock()
	select {
	case p.changes <- struct{}{}:
	default:
	}
}

func logger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

// run starts l and stops it when the test ends.
func run(t *testing.T, l *follow.Lease) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}

// waitHeld waits until Status().Held is want.
func waitHeld(t *testing.T, l *follow.Lease, want bool) election.Status {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		st := l.Status()
		if st.Held == want {
			return st
		}
		select {
		case <-l.Changes():
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("Held stayed %v, want %v", st.Held, want)
		}
	}
}

func TestFollowsThePrimaryCheck(t *testing.T) {
	p := newPrimary()
	l := follow.New(follow.Config{Self: "a", Validity: time.Second}, p, logger(t))
	run(t, l)
	if err := l.SetEligible(t.Context(), true, 100); err != nil {
		t.Fatal(err)
	}
	if st := l.Status(); st.Held {
		t.Fatalf("held before the check passed: %+v", st)
	}
	p.set(true)
	st := waitHeld(t, l, true)
	if st.Holder != "a" || st.Token == 0 {
		t.Errorf("Status = %+v, want held by a with a token", st)
	}
	tok := fence.New(st.Token, l.Valid)
	if err := tok.Check(500 * time.Millisecond); err != nil {
		t.Errorf("fresh grant: %v", err)
	}

	p.set(false)
	waitHeld(t, l, false)
	if err := tok.Check(0); !errors.Is(err, fence.ErrStale) {
		t.Errorf("grant after the check failed: %v, want stale", err)
	}
	p.set(true)
	st2 := waitHeld(t, l, true)
	if st2.Token <= st.Token {
		t.Errorf("second grant's token %d is not above the first's %d", st2.Token, st.Token)
	}
	if _, ok := l.Valid(st.Token); ok {
		t.Error("the first grant's token is still valid")
	}

	// An ineligible node (unhealthy, maintenance) lets go even while its
	// database is primary.
	if err := l.SetEligible(t.Context(), false, 100); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, l, false)
	if err := l.Transfer(t.Context(), "b"); !errors.Is(err, follow.ErrNoTransfer) {
		t.Errorf("Transfer = %v, want ErrNoTransfer", err)
	}
}

// TestWithAHealthMonitor drives the lease with the real primary check
// machinery: a tcp check with rise and fall against a listener that stands
// for "this database is primary".
func TestWithAHealthMonitor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(wg.Wait)
	mon, err := health.NewMonitor([]config.Check{{Name: "is-primary", TCP: ln.Addr().String(),
		Interval: 50 * time.Millisecond, Timeout: 50 * time.Millisecond, Rise: 2, Fall: 2}}, logger(t))
	if err != nil {
		t.Fatal(err)
	}
	l := follow.New(follow.Config{Self: "a"}, mon, logger(t))
	run(t, l)
	if err := l.SetEligible(t.Context(), true, 100); err != nil {
		t.Fatal(err)
	}
	waitHeld(t, l, true)
	ln.Close() // the database stops being primary here
	waitHeld(t, l, false)
}
