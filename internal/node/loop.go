package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/resource"
)

// Node runs one vipd node. Create it with New and call Run once.
type Node struct {
	cfg Config
	d   Deps
	log *slog.Logger

	reqs    chan request
	results chan result
	hookq   chan hooks.Event
	// done is closed when the loop has returned, so late workers never
	// block on results.
	done chan struct{}
}

// report hands a worker's result to the loop, or drops it once the loop
// has returned.
func (n *Node) report(r result) {
	select {
	case n.results <- r:
	case <-n.done:
	}
}

// request is an operator request handled by the loop; reply gets exactly
// one value.
type request struct {
	status      bool
	maintenance *bool
	reply       chan response
}

type response struct {
	status Status
	err    error
}

// result is what a worker reports back to the loop.
type result struct {
	kind     opKind
	token    uint64
	steps    []resource.Step
	err      error
	drift    map[string][]string // reconcile: resource name → drift lines
	inSync   map[string]bool
	checkErr map[string]string
	detail   map[string]string
	// contested names resources whose drift shows another node's claim.
	contested map[string]bool
	eligible  *bool // eligibility push finished
}

type opKind string

const (
	opAcquire   opKind = "acquire"
	opRepair    opKind = "repair"
	opRelease   opKind = "release"
	opReconcile opKind = "reconcile"
	opCleanup   opKind = "cleanup" // backup removes a stale local address
	opEligible  opKind = "eligible"
)

// New returns a node. It starts nothing until Run.
func New(cfg Config, d Deps) *Node {
	if d.Plan == nil {
		d.Plan = resource.NewPlan(nil, resource.PlanOptions{})
	}
	if cfg.ReconcileInterval <= 0 {
		cfg.ReconcileInterval = 5 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.History <= 0 {
		cfg.History = 32
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	d.Metrics.watch(d.Lease, d.Health)
	return &Node{
		cfg:     cfg,
		d:       d,
		log:     d.Log.With("component", "node", "node", cfg.Self.Name),
		reqs:    make(chan request),
		results: make(chan result, 8),
		hookq:   make(chan hooks.Event, 16),
		done:    make(chan struct{}),
	}
}

// Status returns the node's status. It waits for the loop, bounded by ctx.
func (n *Node) Status(ctx context.Context) (Status, error) {
	r, err := n.ask(ctx, request{status: true})
	return r.status, err
}

// Maintenance holds this node out of ownership (on) or lets it back in:
// Standby of this node.
func (n *Node) Maintenance(ctx context.Context, on bool) error {
	return n.Standby(ctx, "", on)
}

// Standby holds node ("" = this one) out of ownership (on) or lets it
// back in. A primary put in standby hands the lease to an eligible peer.
// Where the election backend records standby for the cluster
// (election.Standbyer: raft), it works for any node from any member and
// survives restarts of every member; otherwise only for this node, kept
// in Config.StandbyFile. It returns once the standby is recorded, not
// once the address moved.
func (n *Node) Standby(ctx context.Context, node string, on bool) error {
	if s, ok := n.d.Lease.(election.Standbyer); ok {
		if node == "" {
			node = n.cfg.Self.Name
		}
		if err := s.SetStandby(ctx, node, on); err != nil {
			return err
		}
		n.log.Info("standby set", "reason", "operator", "to", node, "op", fmt.Sprint(on))
		return nil
	}
	if node != "" && node != n.cfg.Self.Name {
		return fmt.Errorf("standby of %s: this election backend keeps standby per node: run vipd standby on %s itself", node, node)
	}
	if n.cfg.Witness {
		return fmt.Errorf("standby of witness %s: a witness never holds the address: %w", n.cfg.Self.Name, election.ErrNotEligible)
	}
	if err := n.storeStandby(on); err != nil {
		return err
	}
	_, err := n.ask(ctx, request{maintenance: &on})
	return err
}

// storeStandby writes (on) or removes the standby file.
func (n *Node) storeStandby(on bool) error {
	path := n.cfg.StandbyFile
	if path == "" {
		return nil
	}
	if on {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return fmt.Errorf("record standby: %w", err)
		}
		if err := os.WriteFile(path, []byte("standby: set by vipd standby on; remove with vipd standby off\n"), 0o600); err != nil {
			return fmt.Errorf("record standby: %w", err)
		}
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clear standby: %w", err)
	}
	return nil
}

// storedStandby reads the standby file.
func (n *Node) storedStandby() bool {
	if n.cfg.StandbyFile == "" {
		return false
	}
	_, err := os.Stat(n.cfg.StandbyFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		n.log.Warn("read standby record", "err", err)
	}
	return err == nil
}

// Switchover asks the cluster to move the lease to node to ("" = any other
// eligible node) and waits until it moved. It may be called on any node.
func (n *Node) Switchover(ctx context.Context, to string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if err := n.d.Lease.Transfer(ctx, to); err != nil {
		if to == "" {
			return fmt.Errorf("switchover: %w", err)
		}
		return fmt.Errorf("switchover to %s: %w", to, err)
	}
	return nil
}

func (n *Node) ask(ctx context.Context, r request) (response, error) {
	r.reply = make(chan response, 1)
	select {
	case n.reqs <- r:
	case <-ctx.Done():
		return response{}, ctx.Err()
	}
	select {
	case resp := <-r.reply:
		return resp, resp.err
	case <-ctx.Done():
		return response{}, ctx.Err()
	}
}

// Run runs the election, health checks, hook runner and the node loop until
// ctx is done or one of them fails. On the way out it releases (or keeps,
// per config) what it owns, runs the stop hook, then leaves the election; it
// returns after every goroutine it started has exited, with the error of a
// component that failed.
func (n *Node) Run(ctx context.Context) error {
	// The lease outlives ctx: a clean stop releases while still holding a
	// valid grant, and only then gives the grant up.
	leaseCtx, stopLease := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLease()
	hookCtx, stopHooks := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHooks()
	// Everything else (health checks, preparation, workers) runs on runCtx,
	// which ends with the loop whether ctx ended it or a failed component:
	// nothing the node started may outlive Run.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()

	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Go(func() {
		err := n.d.Lease.Run(leaseCtx)
		if leaseCtx.Err() == nil {
			// Run returns early only when the election cannot go on.
			if err == nil {
				err = errors.New("stopped")
			}
			errc <- fmt.Errorf("election: %w", err)
		}
	})
	if n.d.Health != nil {
		wg.Go(func() {
			err := n.d.Health.Run(runCtx)
			if runCtx.Err() == nil {
				if err == nil {
					err = errors.New("stopped")
				}
				errc <- fmt.Errorf("health checks: %w", err)
			}
		})
	}
	if n.d.Notices != nil {
		wg.Go(func() {
			err := n.d.Notices.Run(runCtx)
			if runCtx.Err() == nil {
				if err == nil {
					err = errors.New("stopped")
				}
				errc <- fmt.Errorf("instance notices: %w", err)
			}
		})
	}
	hooksDone := make(chan struct{})
	go func() {
		defer close(hooksDone)
		n.runHooks(hookCtx)
	}()
	wg.Go(func() { n.prepare(runCtx) })

	// A process that starts owns nothing yet: remove host addresses a
	// crashed predecessor left bound, before the loop can acquire.
	n.cleanupAtStart(runCtx)

	l := newLoop(runCtx, n, &wg)
	err := l.run(ctx, errc)
	stopRun()
	close(n.done)

	// What the node owned is released (or kept, per config): give the
	// lease up now, so that a peer takes over while the hooks run. A hook
	// may hang until its timeout; the address must not wait for it.
	stopLease()
	// Let queued hooks (stop, backup) run, bounded by their timeout.
	close(n.hookq)
	select {
	case <-hooksDone:
	case <-time.After(n.cfg.HookTimeout + time.Second):
		stopHooks()
		<-hooksDone
	}
	wg.Wait()
	return err
}

// cleanupAtStart unbinds the local address and resources' host addresses,
// bounded by the step timeout.
func (n *Node) cleanupAtStart(ctx context.Context) {
	if n.cfg.Witness || !n.hasHostState() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, n.d.Plan.StepTimeout())
	defer cancel()
	n.unbindHost(ctx)
	if local := n.d.Plan.Local(); local != nil {
		if bound, err := local.Bound(ctx); err == nil && bound {
			if err := local.Unbind(ctx); err != nil {
				n.log.Warn("remove stale local address", "err", err)
			} else {
				n.log.Info("removed stale local address", "reason", "starting", "vip", local.String())
			}
		}
	}
}

// prepare runs every Preparer once, with a few retries, so that a later
// acquire has less to do. Failures are only logged: acquire does the work.
func (n *Node) prepare(ctx context.Context) {
	for _, r := range n.d.Plan.Resources() {
		p, ok := r.(resource.Preparer)
		if !ok {
			continue
		}
		for attempt := 1; attempt <= 3; attempt++ {
			pctx, cancel := context.WithTimeout(ctx, n.d.Plan.StepTimeout())
			err := p.Prepare(pctx, n.cfg.Self)
			cancel()
			if err == nil {
				break
			}
			n.log.Warn("prepare resource", "op", r.Name(), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
	}
}

// runHooks runs notify hooks one at a time, in order, until hookq closes.
func (n *Node) runHooks(ctx context.Context) {
	for ev := range n.hookq {
		if n.d.Hooks == nil {
			continue
		}
		if err := n.d.Hooks.Notify(ctx, ev); err != nil {
			n.log.Warn("notify hook failed", "to", string(ev.State), "err", err)
			n.d.Metrics.hookFailed(string(ev.State))
		}
	}
}

// enqueueHook queues ev without blocking the loop; a full queue drops it.
func (n *Node) enqueueHook(ev hooks.Event) {
	select {
	case n.hookq <- ev:
	default:
		n.log.Warn("notify hook dropped: queue full", "to", string(ev.State))
		n.d.Metrics.hookFailed(string(ev.State))
	}
}

// leaseStatus is a convenience for the loop and workers.
func (n *Node) leaseStatus() election.Status { return n.d.Lease.Status() }
