package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/resource"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeLease is a Lease whose grant the test controls.
type fakeLease struct {
	mu       sync.Mutex
	st       election.Status
	eligible bool
	changes  chan struct{}
	transfer []string
}

func newFakeLease() *fakeLease {
	return &fakeLease{st: election.Status{Self: "a", Quorum: true}, changes: make(chan struct{}, 1)}
}

func (f *fakeLease) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (f *fakeLease) Status() election.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}
func (f *fakeLease) Changes() <-chan struct{} { return f.changes }
func (f *fakeLease) SetEligible(_ context.Context, e bool, _ int) error {
	f.mu.Lock()
	f.eligible = e
	f.mu.Unlock()
	return nil
}
func (f *fakeLease) Transfer(_ context.Context, to string) error {
	f.mu.Lock()
	f.transfer = append(f.transfer, to)
	f.mu.Unlock()
	return nil
}
func (f *fakeLease) Valid(tok uint64) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.st.Held || f.st.Token != tok {
		return time.Time{}, false
	}
	return f.st.ValidUntil, true
}
func (f *fakeLease) grant(token uint64) {
	f.mu.Lock()
	f.st.Held, f.st.Token, f.st.Holder, f.st.ValidUntil = true, token, "a", time.Now().Add(time.Hour)
	f.mu.Unlock()
	f.signal()
}
func (f *fakeLease) revoke(holder string, token uint64) {
	f.mu.Lock()
	f.st.Held, f.st.Token, f.st.Holder = false, token, holder
	f.mu.Unlock()
	f.signal()
}
func (f *fakeLease) isEligible() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.eligible
}
func (f *fakeLease) signal() {
	select {
	case f.changes <- struct{}{}:
	default:
	}
}

// fakeHealth is a health monitor the test flips.
type fakeHealth struct {
	mu      sync.Mutex
	ok      bool
	changes chan struct{}
}

func (h *fakeHealth) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (h *fakeHealth) Healthy() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ok
}
func (h *fakeHealth) Changes() <-chan struct{}     { return h.changes }
func (h *fakeHealth) Status() []health.CheckStatus { return nil }
func (h *fakeHealth) set(ok bool) {
	h.mu.Lock()
	h.ok = ok
	h.mu.Unlock()
	select {
	case h.changes <- struct{}{}:
	default:
	}
}

// fakeResource records the calls made to it, in order across resources.
type fakeResource struct {
	name  string
	kind  string
	log   *callLog
	mu    sync.Mutex
	fail  error
	drift bool
	// contested makes drift show another node's claim.
	contested bool
}

func (r *fakeResource) set(fail error, drift bool) {
	r.mu.Lock()
	r.fail, r.drift = fail, drift
	r.mu.Unlock()
}

func (r *fakeResource) get() (error, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fail, r.drift
}

type callLog struct {
	mu    sync.Mutex
	calls []string
	toks  []uint64
}

func (l *callLog) add(s string, tok uint64) {
	l.mu.Lock()
	l.calls = append(l.calls, s)
	l.toks = append(l.toks, tok)
	l.mu.Unlock()
}

func (l *callLog) snapshot() ([]string, []uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...), append([]uint64(nil), l.toks...)
}

func (r *fakeResource) Name() string { return r.name }
func (r *fakeResource) Kind() string {
	if r.kind != "" {
		return r.kind
	}
	return "fake"
}
func (r *fakeResource) Acquire(ctx context.Context, _ resource.Self, tok fence.Token) error {
	if err := tok.Check(0); err != nil {
		return err
	}
	r.log.add("acquire "+r.name, tok.N())
	fail, _ := r.get()
	return fail
}
func (r *fakeResource) Release(ctx context.Context, _ resource.Self, tok fence.Token) error {
	r.log.add("release "+r.name, tok.N())
	return nil
}
func (r *fakeResource) Check(ctx context.Context, _ resource.Self) (resource.Status, error) {
	if _, drift := r.get(); drift {
		r.mu.Lock()
		defer r.mu.Unlock()
		return resource.Status{Drift: []string{"moved"}, Contested: r.contested}, nil
	}
	return resource.Status{InSync: true}, nil
}

type harness struct {
	t      *testing.T
	n      *Node
	lease  *fakeLease
	health *fakeHealth
	log    *callLog
	res    []*fakeResource
	done   chan error
	cancel context.CancelFunc
}

func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, lease: newFakeLease(), health: &fakeHealth{ok: true, changes: make(chan struct{}, 1)}, log: &callLog{}}
	var rs []resource.Planned
	for _, name := range []string{"first", "second"} {
		r := &fakeResource{name: name, log: h.log}
		h.res = append(h.res, r)
		rs = append(rs, resource.Planned{Resource: r})
	}
	cfg.Self.Name = "a"
	h.n = New(cfg, Deps{Lease: h.lease, Health: h.health, Plan: resource.NewPlan(rs, resource.PlanOptions{})})
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.n.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	return h
}

func (h *harness) stop() error {
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err
		return err
	case <-time.After(5 * time.Second):
		h.t.Fatal("node did not stop within 5s")
		return nil
	}
}

func (h *harness) waitRole(want State) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(h.t.Context(), time.Second)
		st, err := h.n.Status(ctx)
		cancel()
		if err == nil && st.Role == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	st, _ := h.n.Status(h.t.Context())
	h.t.Fatalf("role: got %q, want %q", st.Role, want)
}

func TestGrantAcquiresInOrderAndLossReleasesInReverse(t *testing.T) {
	h := start(t, Config{})
	h.waitRole(StateBackup)
	h.lease.grant(7)
	h.waitRole(StatePrimary)
	h.lease.revoke("b", 8)
	h.waitRole(StateBackup)
	calls, toks := h.log.snapshot()
	want := []string{"acquire first", "acquire second", "release second", "release first"}
	if len(calls) != len(want) {
		t.Fatalf("calls: got %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] || toks[i] != 7 {
			t.Fatalf("call %d: got %q with token %d, want %q with token 7", i, calls[i], toks[i], want[i])
		}
	}
}

func TestUnhealthyNodeDoesNotAcquireAndReportsIneligible(t *testing.T) {
	h := start(t, Config{})
	h.health.set(false)
	h.waitRole(StateFault)
	h.lease.grant(3)
	h.waitRole(StateFault)
	if calls, _ := h.log.snapshot(); len(calls) != 0 {
		t.Fatalf("an unhealthy node acquired: %v", calls)
	}
	if h.lease.isEligible() {
		t.Fatal("unhealthy node reported itself eligible")
	}
	h.health.set(true)
	h.waitRole(StatePrimary)
}

func TestHealthLossWhilePrimaryReleases(t *testing.T) {
	h := start(t, Config{})
	h.lease.grant(4)
	h.waitRole(StatePrimary)
	h.health.set(false)
	h.waitRole(StateFault)
	calls, _ := h.log.snapshot()
	if calls[len(calls)-1] != "release first" {
		t.Fatalf("calls: got %v, want the release last", calls)
	}
}

func TestMaintenanceHoldsNodeOut(t *testing.T) {
	h := start(t, Config{})
	if err := h.n.Maintenance(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	h.lease.grant(5)
	h.waitRole(StateMaintenance)
	if err := h.n.Maintenance(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h.waitRole(StatePrimary)
}

// With a backend that cannot record standby for the cluster, standby
// holds the local node only, and lasts across a restart in its file
// (issue 20).
func TestStandbyWithoutClusterRecordLastsInItsFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state", "standby")
	h := start(t, Config{StandbyFile: file})
	if err := h.n.Standby(t.Context(), "b", true); err == nil {
		t.Errorf("standby of another node with a backend that keeps it per node succeeded, want refused")
	}
	if err := h.n.Standby(t.Context(), "", true); err != nil {
		t.Fatal(err)
	}
	h.lease.grant(5)
	h.waitRole(StateMaintenance)
	if st, _ := h.n.Status(t.Context()); !st.Standby || st.Eligible || h.lease.isEligible() || st.StandbyReplicated {
		t.Errorf("in standby: status standby %v, eligible %v, replicated %v, lease told eligible %v; want standby kept here, not eligible",
			st.Standby, st.Eligible, st.StandbyReplicated, h.lease.isEligible())
	}
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}

	// A restart: the node comes back in standby and does not take a grant.
	h = start(t, Config{StandbyFile: file})
	h.lease.grant(6)
	h.waitRole(StateMaintenance)
	if err := h.n.Maintenance(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	h.waitRole(StatePrimary)
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("standby file after standby off: %v, want removed", err)
	}
}

func TestDriftIsRepairedUnderTheSameToken(t *testing.T) {
	h := start(t, Config{ReconcileInterval: 20 * time.Millisecond})
	h.lease.grant(9)
	h.waitRole(StatePrimary)
	deadline := time.Now().Add(5 * time.Second)
	h.res[1].set(nil, true)
	for time.Now().Before(deadline) {
		st, _ := h.n.Status(t.Context())
		if st.Counters["drift_repairs"] > 0 {
			_, toks := h.log.snapshot()
			for _, tok := range toks {
				if tok != 9 {
					t.Fatalf("repair used token %d, want 9", tok)
				}
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("drift was not repaired")
}

func TestAcquireFailureRetriesAndStepsAside(t *testing.T) {
	h := start(t, Config{})
	h.res[0].set(errors.New("ec2 unreachable"), false)
	h.waitRole(StateBackup)
	for !h.lease.isEligible() {
		time.Sleep(5 * time.Millisecond)
	}
	h.lease.grant(2)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && h.lease.isEligible() {
		time.Sleep(10 * time.Millisecond)
	}
	if h.lease.isEligible() {
		t.Fatal("node kept claiming eligibility after repeated acquire failures")
	}
	calls, _ := h.log.snapshot()
	if n := count(calls, "acquire first"); n < maxAcquireFailures {
		t.Fatalf("acquire attempts: got %d, want %d", n, maxAcquireFailures)
	}
}

func TestStopReleasesUnderTheValidGrant(t *testing.T) {
	h := start(t, Config{ReleaseOnStop: true})
	h.lease.grant(11)
	h.waitRole(StatePrimary)
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	calls, _ := h.log.snapshot()
	if calls[len(calls)-1] != "release first" {
		t.Fatalf("calls: got %v, want a release at stop", calls)
	}
}

// binder is a local address the test can remove behind the node's back.
type binder struct {
	mu    sync.Mutex
	bound bool
}

func (b *binder) Bind(context.Context) error   { b.set(true); return nil }
func (b *binder) Unbind(context.Context) error { b.set(false); return nil }
func (b *binder) Bound(context.Context) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bound, nil
}
func (b *binder) String() string { return "192.168.100.10/32 on test0" }
func (b *binder) set(v bool) {
	b.mu.Lock()
	b.bound = v
	b.mu.Unlock()
}

// A lost local address is drift like any other; repairing it once
// dereferenced a resource entry that does not exist for the address and
// crashed the daemon (found by test/e2e's drift test).
func TestLostLocalAddressIsRebound(t *testing.T) {
	h := &harness{t: t, lease: newFakeLease(), health: &fakeHealth{ok: true, changes: make(chan struct{}, 1)}, log: &callLog{}}
	b := &binder{}
	h.n = New(Config{ReconcileInterval: 20 * time.Millisecond, Self: resource.Self{Name: "a"}},
		Deps{Lease: h.lease, Health: h.health, Plan: resource.NewPlan(nil, resource.PlanOptions{Local: b})})
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.n.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	h.lease.grant(3)
	h.waitRole(StatePrimary)
	b.set(false)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st, err := h.n.Status(t.Context())
		if err == nil && st.Counters["drift_repairs"] > 0 {
			if ok, _ := b.Bound(t.Context()); !ok {
				t.Fatal("repair counted but the address is not bound")
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("lost local address was not rebound")
}

// The local address takes its place in design.md's order (after
// overlay-route, before route53), and a release's steps show in status.
func TestLocalAddressOrderAndReleaseStepsInStatus(t *testing.T) {
	h := &harness{t: t, lease: newFakeLease(), health: &fakeHealth{ok: true, changes: make(chan struct{}, 1)}, log: &callLog{}}
	route := &fakeResource{name: "route", kind: "overlay-route", log: h.log}
	dns := &fakeResource{name: "dns", kind: "route53", log: h.log}
	// Listed out of order: the plan orders them, the local address between.
	plan := resource.NewPlan([]resource.Planned{
		{Resource: dns, Order: resource.LocalAddressOrder + 100},
		{Resource: route, Order: resource.LocalAddressOrder - 100},
	}, resource.PlanOptions{Local: &binder{}})
	h.n = New(Config{Self: resource.Self{Name: "a"}}, Deps{Lease: h.lease, Health: h.health, Plan: plan})
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.n.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	h.lease.grant(6)
	h.waitRole(StatePrimary)
	h.lease.revoke("b", 7)
	h.waitRole(StateBackup)
	st, err := h.n.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var acquired, released []string
	for _, tr := range st.Transitions {
		for _, s := range tr.Steps {
			switch s.Op {
			case "acquire":
				acquired = append(acquired, s.Resource)
			case "release":
				released = append(released, s.Resource)
			}
		}
	}
	if want := []string{"route", "local-address", "dns"}; !slices.Equal(acquired, want) {
		t.Errorf("acquire steps: got %v, want %v", acquired, want)
	}
	if want := []string{"local-address", "dns", "route"}; !slices.Equal(released, want) {
		t.Errorf("release steps in status: got %v, want %v", released, want)
	}
}

// hostRes is a resource that binds host addresses of its own.
type hostRes struct {
	fakeResource
	b *binder
}

func (r *hostRes) Unbind(ctx context.Context, _ resource.Self) error { return r.b.Unbind(ctx) }

// A node restarted after kill -9 finds the addresses its predecessor bound
// and must not answer for them while another node owns them (found by the
// netns fault suite with secondary-ip).
func TestStartRemovesStaleHostAddresses(t *testing.T) {
	h := &harness{t: t, lease: newFakeLease(), health: &fakeHealth{ok: true, changes: make(chan struct{}, 1)}, log: &callLog{}}
	local, extra := &binder{bound: true}, &binder{bound: true}
	res := &hostRes{fakeResource: fakeResource{name: "sec", log: h.log}, b: extra}
	plan := resource.NewPlan([]resource.Planned{{Resource: res}}, resource.PlanOptions{Local: local})
	h.n = New(Config{Self: resource.Self{Name: "a"}}, Deps{Lease: h.lease, Health: h.health, Plan: plan})
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.n.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	h.waitRole(StateBackup)
	for name, b := range map[string]*binder{"local address": local, "resource address": extra} {
		if ok, _ := b.Bound(t.Context()); ok {
			t.Errorf("%s still bound after start as backup", name)
		}
	}
}

// In follow mode two nodes may both be told "you are primary"; a primary
// that yields leaves the other's claim alone and counts it, instead of
// making the address flap (issue 7).
func TestContestedDriftIsNotRepairedWhenYielding(t *testing.T) {
	h := start(t, Config{ReconcileInterval: 20 * time.Millisecond, YieldContested: true})
	h.lease.grant(5)
	h.waitRole(StatePrimary)
	h.res[0].mu.Lock()
	h.res[0].contested = true
	h.res[0].mu.Unlock()
	h.res[0].set(nil, true)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st, err := h.n.Status(t.Context())
		if err == nil && st.Counters["contested"] >= 2 {
			if st.Counters["drift_repairs"] != 0 {
				t.Fatalf("repaired a contested claim %d times", st.Counters["drift_repairs"])
			}
			if st.Role != StatePrimary {
				t.Fatalf("role %s, want primary (the primary check still says so)", st.Role)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("contested drift was not counted")
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

// failingLease is a Lease whose Run fails at once, as raft's does when its
// port is taken or its log cannot be read.
type failingLease struct {
	*fakeLease
	err error
}

func (f *failingLease) Run(context.Context) error { return f.err }

// A fatal election error ends Run with that error, after every goroutine
// the node started (health checks included) has exited, so the process
// exits instead of hanging without an election (issue 16).
func TestFatalElectionErrorEndsRun(t *testing.T) {
	portTaken := errors.New("listen on 127.0.0.1:7946: address already in use")
	hl := &fakeHealth{ok: true, changes: make(chan struct{}, 1)}
	n := New(Config{Self: resource.Self{Name: "a"}, ReconcileInterval: 10 * time.Millisecond},
		Deps{Lease: &failingLease{fakeLease: newFakeLease(), err: portTaken}, Health: hl,
			Plan: resource.NewPlan([]resource.Planned{{Resource: &fakeResource{name: "first", log: &callLog{}}}}, resource.PlanOptions{Local: &binder{}})})
	done := make(chan error, 1)
	// The caller's context never ends: only the failure may end Run.
	go func() { done <- n.Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, portTaken) {
			t.Fatalf("Run returned %v, want the election's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still running 5s after the election failed")
	}
}

// An election that returns without an error while the node runs is a
// failure too: the node must not go on without one.
func TestElectionThatStopsEndsRun(t *testing.T) {
	n := New(Config{Self: resource.Self{Name: "a"}},
		Deps{Lease: &failingLease{fakeLease: newFakeLease()}, Health: &fakeHealth{ok: true, changes: make(chan struct{}, 1)}})
	done := make(chan error, 1)
	go func() { done <- n.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run returned nil after the election stopped on its own")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still running 5s after the election stopped")
	}
}

// resignLease records when Run was told to give the grant up, and what the
// resources had seen by then.
type resignLease struct {
	*fakeLease
	log      *callLog
	resigned chan []string
}

func (r *resignLease) Run(ctx context.Context) error {
	<-ctx.Done()
	calls, _ := r.log.snapshot()
	r.resigned <- calls
	return nil
}

// hangingHooks is a notify script that never returns on its own.
type hangingHooks struct{ started chan hooks.State }

func (h *hangingHooks) Notify(ctx context.Context, ev hooks.Event) error {
	select {
	case h.started <- ev.State:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

// A planned stop of the primary releases what it owns, then gives the
// lease up at once, while a hung notify hook is still running: the peer
// must not wait for the hook's timeout (issue 16: 11 s with a 10 s hook
// timeout, nothing within 40 s with 60 s).
func TestStopGivesLeaseUpWhileHookHangs(t *testing.T) {
	const hookTimeout = 3 * time.Second
	calls := &callLog{}
	lease := &resignLease{fakeLease: newFakeLease(), log: calls, resigned: make(chan []string, 1)}
	hk := &hangingHooks{started: make(chan hooks.State, 8)}
	n := New(Config{Self: resource.Self{Name: "a"}, ReleaseOnStop: true, HookTimeout: hookTimeout},
		Deps{Lease: lease, Health: &fakeHealth{ok: true, changes: make(chan struct{}, 1)},
			Plan: resource.NewPlan([]resource.Planned{{Resource: &fakeResource{name: "first", log: calls}}}, resource.PlanOptions{}), Hooks: hk})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// The backup hook at start hangs; the master hook queues behind it.
	lease.grant(4)
	h := &harness{t: t, n: n}
	h.waitRole(StatePrimary)
	select {
	case <-hk.started:
	case <-time.After(5 * time.Second):
		t.Fatal("no hook started")
	}

	stopAt := time.Now()
	cancel()
	select {
	case seen := <-lease.resigned:
		if took := time.Since(stopAt); took > time.Second {
			t.Errorf("lease given up %s after the stop, want well under the hook timeout %s", took.Round(time.Millisecond), hookTimeout)
		}
		if want := []string{"acquire first", "release first"}; !slices.Equal(seen, want) {
			t.Errorf("resource calls before the lease was given up: %v, want %v", seen, want)
		}
	case <-time.After(hookTimeout + 2*time.Second):
		t.Fatal("lease not given up while the hook hung")
	}
	select {
	case <-done:
	case <-time.After(hookTimeout + 3*time.Second):
		t.Fatalf("Run still running %s after the stop", hookTimeout+3*time.Second)
	}
}
