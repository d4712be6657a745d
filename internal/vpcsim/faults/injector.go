package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Options tunes an Injector. The zero value is usable.
type Options struct {
	// HistoryLimit bounds the call history; oldest calls are dropped first.
	// Default 100000.
	HistoryLimit int
	// MaxHang bounds a hang or late-write fault without its own timeout;
	// default 5m.
	MaxHang time.Duration
	// Logger receives one debug line per call; default discards.
	Logger *slog.Logger
}

// Injector holds the active faults, the token buckets and the call
// history of every service it wraps (Wrap). All methods are safe for
// concurrent use.
type Injector struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	faults []*fault
	spent  []*fault // count-limited holding faults that still hold calls
	seq    int64
	closed bool
	// dropLate is closed by Reset, dropping the late writes still waiting.
	dropLate chan struct{}

	done    chan struct{} // closed by Close: releases held calls
	hist    history
	buckets buckets
	wg      sync.WaitGroup // late writes
}

// New returns an Injector without faults.
func New(opts Options) *Injector {
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = 100000
	}
	if opts.MaxHang <= 0 {
		opts.MaxHang = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Injector{
		opts:     opts,
		log:      opts.Logger,
		dropLate: make(chan struct{}),
		done:     make(chan struct{}),
		hist:     history{limit: opts.HistoryLimit},
	}
}

// Inject adds a fault and returns its ID. Faults are matched in injection
// order; the first match applies.
func (in *Injector) Inject(f Fault) (int64, error) {
	if err := f.validate(); err != nil {
		return 0, fmt.Errorf("inject fault: %w", err)
	}
	f = f.withDefaults()
	in.mu.Lock()
	defer in.mu.Unlock()
	in.seq++
	f.ID = in.seq
	f.Held = 0
	x := &fault{Fault: f, cleared: make(chan struct{})}
	if f.Duration > 0 {
		x.expires = time.Now().Add(time.Duration(f.Duration))
	}
	in.faults = append(in.faults, x)
	return f.ID, nil
}

// Clear removes every fault (id 0) or the one with that id, releasing
// calls they hold. The late writes of released calls still take effect.
func (in *Injector) Clear(id int64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	release := func(f *fault) bool {
		if id != 0 && f.ID != id {
			return false
		}
		close(f.cleared)
		return true
	}
	in.faults = slices.DeleteFunc(in.faults, release)
	in.spent = slices.DeleteFunc(in.spent, release)
}

// Reset removes every fault and drops the late writes still waiting, as a
// world reload must: they were meant for the world that is gone.
func (in *Injector) Reset() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, f := range append(in.faults, in.spent...) {
		close(f.cleared)
	}
	in.faults, in.spent = nil, nil
	close(in.dropLate)
	in.dropLate = make(chan struct{})
}

// Faults lists the active faults.
func (in *Injector) Faults() []Fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.expireLocked(time.Now())
	out := make([]Fault, len(in.faults))
	for i, f := range in.faults {
		out[i] = f.Fault
	}
	return out
}

// Calls returns the recorded calls with Seq greater than since, oldest
// first.
func (in *Injector) Calls(since uint64) []Call { return in.hist.since(since) }

// Close releases every held call, stops late writes that have not taken
// effect, and waits for those under way. Call it before shutting the
// listeners down, so that held requests end.
func (in *Injector) Close() {
	in.mu.Lock()
	if !in.closed {
		in.closed = true
		close(in.done)
	}
	in.mu.Unlock()
	in.wg.Wait()
}

func (in *Injector) expireLocked(now time.Time) {
	in.faults = slices.DeleteFunc(in.faults, func(f *fault) bool {
		if !f.expires.IsZero() && now.After(f.expires) {
			close(f.cleared)
			return true
		}
		return false
	})
}

// take finds the first fault matching the call and uses up one of its
// count. A late-write fault matches only mutating calls: a read that takes
// effect late changes nothing.
func (in *Injector) take(action, caller string) *fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.faults) == 0 {
		return nil
	}
	in.expireLocked(time.Now())
	for i, f := range in.faults {
		if (f.Action != "" && f.Action != action) || (f.Caller != "" && f.Caller != caller) ||
			(f.Kind == LateWrite && isRead(action)) {
			continue
		}
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				in.faults = slices.Delete(in.faults, i, i+1)
				if f.holds() {
					// It no longer matches but still holds this call until
					// cleared or timed out.
					in.spent = append(in.spent, f)
				} else {
					close(f.cleared)
				}
			}
		}
		return f
	}
	return nil
}

// hold blocks until the fault is cleared or expires, ctx ends (the client
// gave up), the fault's timeout passes, or the injector closes.
func (in *Injector) hold(ctx context.Context, f *fault) {
	timeout := time.Duration(f.Timeout)
	if timeout <= 0 {
		timeout = in.opts.MaxHang
	}
	if !f.expires.IsZero() {
		timeout = min(timeout, time.Until(f.expires))
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	in.mu.Lock()
	f.Held++
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		f.Held--
		in.mu.Unlock()
	}()
	select {
	case <-f.cleared:
	case <-t.C:
	case <-ctx.Done():
	case <-in.done:
	}
}

var errClosed = errors.New("server closed")

// wait blocks for d unless ctx ends or the injector closes.
func (in *Injector) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-in.done:
		return errClosed
	}
}
