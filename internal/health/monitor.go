package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// CheckStatus is one check's state as the Monitor last saw it. It is a copy.
type CheckStatus struct {
	// Name is the check's config name.
	Name string
	// Passing is the check's state after rise/fall hysteresis. A check
	// starts failing and passes after Rise consecutive successes.
	Passing bool
	// Successes and Failures count the latest consecutive results of each
	// kind; at most one of them is non-zero.
	Successes, Failures int
	// LastError is the last probe's error text, "" when it succeeded (or no
	// probe has finished yet).
	LastError string
	// LastDuration is how long the last probe took.
	LastDuration time.Duration
	// LastProbe is when the last probe finished (zero before the first).
	LastProbe time.Time
	// LastChange is when Passing last changed (zero while it never has).
	LastChange time.Time
}

// probe is one configured check and the Checker that runs it.
type probe struct {
	cfg     config.Check
	checker Checker
}

// Monitor runs a node's health checks and keeps their state. Run owns the
// probing goroutines; Healthy, Status and Changes are safe for concurrent
// use from any goroutine and never block on a probe.
type Monitor struct {
	logger  *slog.Logger
	probes  []probe
	changes chan struct{}
	started atomic.Bool

	mu     sync.Mutex
	status []CheckStatus // guarded by mu; index i is probes[i]
}

// NewMonitor returns a Monitor for checks; every check is built (and so
// checked) here, and the errors of all bad checks are returned joined. No
// probe runs before Run.
func NewMonitor(checks []config.Check, logger *slog.Logger) (*Monitor, error) {
	probes := make([]probe, 0, len(checks))
	var errs []error
	for _, c := range checks {
		ch, err := NewChecker(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		probes = append(probes, probe{cfg: c, checker: ch})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return newMonitor(probes, logger)
}

// newMonitor is NewMonitor over ready checkers (tests pass fakes).
func newMonitor(probes []probe, logger *slog.Logger) (*Monitor, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{
		logger:  logger.With("component", "health"),
		probes:  probes,
		changes: make(chan struct{}, 1),
		status:  make([]CheckStatus, len(probes)),
	}
	for i, p := range probes {
		if p.cfg.Interval <= 0 || p.cfg.Rise < 1 || p.cfg.Fall < 1 {
			return nil, fmt.Errorf("check %q: interval %s, rise %d, fall %d: want a positive interval and rise and fall of at least 1",
				p.cfg.Name, p.cfg.Interval, p.cfg.Rise, p.cfg.Fall)
		}
		m.status[i].Name = p.cfg.Name
	}
	return m, nil
}

// Run probes every check on its interval until ctx is done, one goroutine
// per check, and returns nil after all of them have exited. The first probe
// of each check starts at once. A probe still running when ctx is done is
// cancelled and its result ignored. Run may be called once.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("health monitor already started")
	}
	var wg sync.WaitGroup
	for i := range m.probes {
		wg.Go(func() { m.loop(ctx, i) })
	}
	// Without checks there is nothing to run, but Run still lasts until ctx
	// is done, like every other Run the node starts.
	<-ctx.Done()
	wg.Wait()
	return nil
}

// loop probes check i every Interval (measured start to start; a probe's
// timeout is at most its interval) until ctx is done.
func (m *Monitor) loop(ctx context.Context, i int) {
	p := m.probes[i]
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := time.Now()
		err := p.checker.Check(ctx)
		took := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		m.record(i, err, took)
		timer.Reset(max(0, p.cfg.Interval-took))
	}
}

// record applies one probe result to check i's hysteresis and reports a
// change of Passing through the log and Changes.
func (m *Monitor) record(i int, err error, took time.Duration) {
	cfg := m.probes[i].cfg
	now := time.Now()
	m.mu.Lock()
	s := &m.status[i]
	first := s.LastProbe.IsZero()
	changed := false
	if err == nil {
		s.Successes++
		s.Failures = 0
		s.LastError = ""
		if !s.Passing && s.Successes >= cfg.Rise {
			s.Passing, changed = true, true
		}
	} else {
		s.Failures++
		s.Successes = 0
		s.LastError = err.Error()
		if s.Passing && s.Failures >= cfg.Fall {
			s.Passing, changed = false, true
		}
	}
	s.LastDuration = took
	s.LastProbe = now
	if changed {
		s.LastChange = now
	}
	st := *s
	m.mu.Unlock()

	switch {
	case changed && st.Passing:
		m.logger.Info("health check passing", "check", st.Name, "successes", st.Successes, "duration", took)
	case changed:
		m.logger.Warn("health check failing", "check", st.Name, "failures", st.Failures, "err", err, "duration", took)
	case first && err != nil:
		// A check starts failing, so this is no transition; say once why
		// the node is not eligible yet.
		m.logger.Warn("health check not passing yet", "check", st.Name, "err", err, "duration", took)
	case err != nil:
		m.logger.Debug("health probe failed", "check", st.Name, "failures", st.Failures, "err", err, "duration", took)
	}
	if changed {
		select {
		case m.changes <- struct{}{}:
		default:
			// A hint is already pending; the reader re-reads Healthy.
		}
	}
}

// Healthy reports whether every check is passing. With no checks the node
// is healthy; before the checks have risen it is not.
func (m *Monitor) Healthy() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.status {
		if !s.Passing {
			return false
		}
	}
	return true
}

// Status returns a copy of every check's state, in config order.
func (m *Monitor) Status() []CheckStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]CheckStatus(nil), m.status...)
}

// Changes is signalled (buffer of one, never blocking the sender) whenever
// a check's Passing flips. It is a hint: the receiver re-reads Healthy or
// Status rather than counting signals.
func (m *Monitor) Changes() <-chan struct{} { return m.changes }
