package daemon

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/node"
)

// watchReload makes SIGHUP reload the health checks and notify scripts from
// cfg.Source while the node runs, without dropping ownership: it wraps
// deps.Health and deps.Hooks (call it before node.New) in holders whose
// content a reload replaces. An invalid file is reported and the running
// configuration kept; changes to anything else are reported as needing a
// restart. stop ends the watcher.
func watchReload(ctx context.Context, cfg *config.Config, deps *node.Deps, log *slog.Logger) (stop func()) {
	r := &reloader{cfg: cfg, log: log}
	if deps.Hooks != nil {
		r.hooks = &swapNotifier{}
		r.hooks.set(deps.Hooks)
		deps.Hooks = r.hooks
	}
	if m, ok := deps.Health.(*health.Monitor); ok {
		r.health = newSwapHealth(m, log)
		deps.Health = r.health
	}
	if cfg.Source == "" {
		return func() {}
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_, _ = daemon.SdNotify(false, daemon.SdNotifyReloading)
				r.reload()
				_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)
			}
		}
	})
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}

// reloader applies a configuration file to the running holders.
type reloader struct {
	log    *slog.Logger
	cfg    *config.Config // the running configuration
	health *swapHealth
	hooks  *swapNotifier
}

// reload reads the file again and applies what can change while running.
func (r *reloader) reload() {
	next, err := config.Load(r.cfg.Source)
	if err != nil {
		r.log.Error("reload failed; keeping the running configuration", "err", err)
		return
	}
	if fixed := restartOnly(r.cfg, next); len(fixed) > 0 {
		r.log.Warn("reload: changes that need a restart are not applied", "reason", fixed)
	}
	var mon *health.Monitor
	if r.health != nil && !reflect.DeepEqual(r.cfg.Health, next.Health) {
		if mon, err = health.NewMonitor(next.Health, r.log); err != nil {
			r.log.Error("reload failed; keeping the running configuration", "err", err)
			return
		}
	}
	if mon != nil {
		r.health.Replace(mon, settleTime(next.Health))
	}
	if r.hooks != nil && !reflect.DeepEqual(r.cfg.Notify, next.Notify) {
		r.hooks.set(hooks.New(next.Notify, next.Cluster, r.log))
	}
	// Only what was applied becomes the running configuration.
	applied := *r.cfg
	applied.Health, applied.Notify = next.Health, next.Notify
	r.cfg = &applied
	r.log.Info("configuration reloaded", "reason", "SIGHUP", "health_checks", len(next.Health))
}

// restartOnly names the top-level settings that differ between the running
// and the new configuration other than health and notify.
func restartOnly(cur, next *config.Config) []string {
	var out []string
	cv, nv := reflect.ValueOf(*cur), reflect.ValueOf(*next)
	t := cv.Type()
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("yaml")
		if name == "-" || name == "health" || name == "notify" {
			continue
		}
		if !reflect.DeepEqual(cv.Field(i).Interface(), nv.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	return out
}

// settleTime bounds how long a new set of checks gets to reach its verdict
// before it replaces the old: every check's rise probes and a timeout.
func settleTime(checks []config.Check) time.Duration {
	d := time.Second
	for _, c := range checks {
		d = max(d, time.Duration(c.Rise)*c.Interval+c.Timeout+time.Second)
	}
	return d
}

// swapNotifier is the node's Notifier; a reload replaces the scripts.
type swapNotifier struct {
	mu  sync.Mutex
	cur node.Notifier
}

func (s *swapNotifier) set(n node.Notifier) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur = n
}

func (s *swapNotifier) get() node.Notifier {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *swapNotifier) Notify(ctx context.Context, ev hooks.Event) error {
	return s.get().Notify(ctx, ev)
}

// swapHealth is the node's Health; a reload replaces the checks. New checks
// start failing until they have risen, so they run beside the old ones and
// take over once they agree with them (or their settle time is up): a
// healthy primary stays healthy across a reload whose checks pass.
type swapHealth struct {
	log     *slog.Logger
	next    chan pending
	changes chan struct{}

	mu  sync.Mutex
	cur *health.Monitor
}

type pending struct {
	m      *health.Monitor
	settle time.Duration
}

var _ node.Health = (*swapHealth)(nil)

func newSwapHealth(m *health.Monitor, log *slog.Logger) *swapHealth {
	return &swapHealth{log: log, next: make(chan pending), changes: make(chan struct{}, 1), cur: m}
}

// Replace hands the running Run a new monitor; it returns at once when Run
// is not running.
func (s *swapHealth) Replace(m *health.Monitor, settle time.Duration) {
	select {
	case s.next <- pending{m, settle}:
	case <-time.After(time.Second):
		s.log.Warn("reload: health checks not replaced: the node is not running them")
	}
}

func (s *swapHealth) current() *health.Monitor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *swapHealth) Healthy() bool                { return s.current().Healthy() }
func (s *swapHealth) Status() []health.CheckStatus { return s.current().Status() }
func (s *swapHealth) Changes() <-chan struct{}     { return s.changes }
func (s *swapHealth) poke() {
	select {
	case s.changes <- struct{}{}:
	default:
	}
}

// running is one monitor's Run.
type running struct {
	m      *health.Monitor
	cancel context.CancelFunc
	done   chan struct{}
}

func start(ctx context.Context, m *health.Monitor) running {
	ctx, cancel := context.WithCancel(ctx)
	r := running{m: m, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		_ = m.Run(ctx)
	}()
	return r
}

func (r running) stop() { r.cancel(); <-r.done }

// Run runs the current monitor, and a replacement beside it until it takes
// over, until ctx is done.
func (s *swapHealth) Run(ctx context.Context) error {
	cur := start(ctx, s.current())
	var cand running
	var candChanges <-chan struct{}
	var deadline <-chan time.Time
	defer func() {
		cur.stop()
		if cand.m != nil {
			cand.stop()
		}
	}()
	for {
		expired := false
		select {
		case <-ctx.Done():
			return nil
		case <-cur.m.Changes():
			s.poke()
		case p := <-s.next:
			if cand.m != nil {
				cand.stop()
			}
			cand, candChanges = start(ctx, p.m), p.m.Changes()
			deadline = time.After(p.settle)
			continue
		case <-candChanges:
		case <-deadline:
			expired = true
		}
		if cand.m == nil || (!expired && cand.m.Healthy() != cur.m.Healthy()) {
			continue
		}
		// Take over: the new checks agree with the old, or had their time.
		old := cur
		cur, cand, candChanges, deadline = cand, running{}, nil, nil
		s.mu.Lock()
		s.cur = cur.m
		s.mu.Unlock()
		old.stop()
		s.poke()
		s.log.Info("health checks replaced", "reason", "reload", "health", cur.m.Healthy())
	}
}
