package health

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/config"
)

// scripted is a Checker whose verdict the test sets; each probe takes
// delay (of the bubble's fake time) and is counted.
type scripted struct {
	mu     sync.Mutex
	err    error
	delay  time.Duration
	probes int
}

func (s *scripted) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probes
}

func (s *scripted) Check(ctx context.Context) error {
	s.mu.Lock()
	err, delay := s.err, s.delay
	s.probes++
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func check(name string, interval time.Duration, rise, fall int) config.Check {
	return config.Check{Name: name, Interval: interval, Timeout: interval, Rise: rise, Fall: fall}
}

// startMonitor runs m until the test ends and waits for Run to return.
func startMonitor(t *testing.T, m *Monitor) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
}

// changed reports whether a Changes hint is pending, consuming it.
func changed(m *Monitor) bool {
	select {
	case <-m.Changes():
		return true
	default:
		return false
	}
}

var errDown = errors.New("service down")

func TestMonitorRiseFromStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{}
		m, err := newMonitor([]probe{{cfg: check("pg", time.Second, 3, 2), checker: s}}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if m.Healthy() {
			t.Fatal("Healthy() before any probe = true, want false: a check starts failing")
		}
		start := time.Now()
		startMonitor(t, m)

		// Probes run at 0s, 1s, 2s; the third success makes the check pass.
		for want := 1; want <= 2; want++ {
			synctest.Wait()
			if got := s.count(); got != want {
				t.Fatalf("after %s: %d probes, want %d", time.Since(start), got, want)
			}
			if m.Healthy() || changed(m) {
				t.Fatalf("after %d successes of rise 3: Healthy() = %v, want false and no change hint", want, m.Healthy())
			}
			time.Sleep(time.Second)
		}
		synctest.Wait()
		if !m.Healthy() || !changed(m) {
			t.Fatalf("after 3 successes: Healthy() = %v, change hinted = false; want true, true", m.Healthy())
		}
		want := []CheckStatus{{Name: "pg", Passing: true, Successes: 3, LastProbe: start.Add(2 * time.Second), LastChange: start.Add(2 * time.Second)}}
		if diff := cmp.Diff(want, m.Status()); diff != "" {
			t.Errorf("Status() mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestMonitorFallHysteresis(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{}
		m, err := newMonitor([]probe{{cfg: check("pg", time.Second, 1, 3), checker: s}}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		startMonitor(t, m)
		synctest.Wait()
		if !m.Healthy() || !changed(m) {
			t.Fatal("rise 1: not healthy after the first success")
		}

		// Failures interrupted by a success never reach fall 3.
		for _, verdict := range []error{errDown, errDown, nil, errDown, errDown, nil} {
			s.set(verdict)
			time.Sleep(time.Second)
			synctest.Wait()
			if !m.Healthy() || changed(m) {
				t.Fatalf("flapping below fall: Healthy() = %v, want true and no change", m.Healthy())
			}
		}

		s.set(errDown)
		for i := 1; i <= 3; i++ {
			time.Sleep(time.Second)
			synctest.Wait()
			if got, want := m.Healthy(), i < 3; got != want {
				t.Fatalf("after %d consecutive failures of fall 3: Healthy() = %v, want %v", i, got, want)
			}
		}
		if !changed(m) {
			t.Error("no change hint after the check fell")
		}
		st := m.Status()[0]
		if st.Passing || st.Failures != 3 || st.Successes != 0 || st.LastError != "service down" {
			t.Errorf("Status() = %+v, want failing with 3 failures and the last error", st)
		}
		if st.LastChange != st.LastProbe {
			t.Errorf("LastChange %v != LastProbe %v on the probe that fell", st.LastChange, st.LastProbe)
		}
	})
}

func TestMonitorHealthyNeedsEveryCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := &scripted{}, &scripted{err: errDown}
		m, err := newMonitor([]probe{
			{cfg: check("a", time.Second, 1, 1), checker: a},
			{cfg: check("b", 2*time.Second, 1, 1), checker: b},
		}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		startMonitor(t, m)
		synctest.Wait()
		if m.Healthy() {
			t.Fatal("Healthy() with b failing = true")
		}
		b.set(nil)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if !m.Healthy() {
			t.Fatalf("Healthy() with both passing = false; status %+v", m.Status())
		}
		// Each check keeps its own interval.
		if a.count() != 3 || b.count() != 2 {
			t.Errorf("probes after 2s: a %d (interval 1s), b %d (interval 2s); want 3 and 2", a.count(), b.count())
		}
	})
}

func TestMonitorIntervalIsStartToStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{delay: 300 * time.Millisecond}
		m, err := newMonitor([]probe{{cfg: check("slow", time.Second, 1, 1), checker: s}}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		startMonitor(t, m)
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		// Probes start at 0s, 1s, 2s and each takes 300ms.
		st := m.Status()[0]
		if s.count() != 3 || st.LastDuration != 300*time.Millisecond || !st.LastProbe.Equal(start.Add(2300*time.Millisecond)) {
			t.Errorf("after 2.5s: %d probes, last took %s and ended at +%s; want 3, 300ms, +2.3s",
				s.count(), st.LastDuration, st.LastProbe.Sub(start))
		}
	})
}

func TestMonitorShutdownIgnoresProbeInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &scripted{delay: 500 * time.Millisecond}
		m, err := newMonitor([]probe{{cfg: check("slow", time.Second, 1, 1), checker: s}}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		time.Sleep(100 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run() = %v, want nil", err)
		}
		if st := m.Status()[0]; !st.LastProbe.IsZero() || st.LastError != "" {
			t.Errorf("Status() = %+v; a probe cancelled by shutdown must not count", st)
		}
		if err := m.Run(t.Context()); err == nil {
			t.Error("second Run() = nil, want an error")
		}
	})
}

func TestMonitorWithoutChecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := NewMonitor(nil, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if !m.Healthy() || len(m.Status()) != 0 {
			t.Errorf("no checks: Healthy() = %v, Status() = %v; want true, empty", m.Healthy(), m.Status())
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Run() returned %v before ctx was done", err)
		default:
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	})
}

func TestNewMonitorRejectsBadChecks(t *testing.T) {
	_, err := NewMonitor([]config.Check{
		{Name: "ok", TCP: "127.0.0.1:1", Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1},
		{Name: "none", Interval: time.Second, Timeout: time.Second, Rise: 1, Fall: 1},
		{Name: "norise", TCP: "127.0.0.1:1", Interval: time.Second, Timeout: time.Second, Fall: 1},
	}, nil)
	want := `check "none": want exactly one of tcp, http, exec; got 0`
	if err == nil || err.Error() != want {
		t.Errorf("NewMonitor() = %v, want %q", err, want)
	}
	_, err = NewMonitor([]config.Check{
		{Name: "norise", TCP: "127.0.0.1:1", Interval: time.Second, Timeout: time.Second, Fall: 1},
	}, nil)
	want = `check "norise": interval 1s, rise 0, fall 1: want a positive interval and rise and fall of at least 1`
	if err == nil || err.Error() != want {
		t.Errorf("NewMonitor() = %v, want %q", err, want)
	}
}
