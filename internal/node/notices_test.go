package node

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/notice"
	"github.com/vipd/vipd/internal/resource"
)

// fakeNotices are instance notices the test announces and withdraws.
type fakeNotices struct {
	mu      sync.Mutex
	cur     []notice.Notice
	changes chan struct{}
}

func (f *fakeNotices) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (f *fakeNotices) Notices() []notice.Notice {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cur)
}
func (f *fakeNotices) Changes() <-chan struct{} { return f.changes }
func (f *fakeNotices) set(ns ...notice.Notice) {
	f.mu.Lock()
	f.cur = ns
	f.mu.Unlock()
	select {
	case f.changes <- struct{}{}:
	default:
	}
}

func (f *fakeLease) setPeers(ps ...election.Peer) {
	f.mu.Lock()
	f.st.Peers = ps
	f.mu.Unlock()
	f.signal()
}

// startWithNotices is start with instance notices.
func startWithNotices(t *testing.T) (*harness, *fakeNotices) {
	t.Helper()
	h := &harness{t: t, lease: newFakeLease(), health: &fakeHealth{ok: true, changes: make(chan struct{}, 1)}, log: &callLog{}}
	nt := &fakeNotices{changes: make(chan struct{}, 1)}
	r := &fakeResource{name: "route", log: h.log}
	h.res = append(h.res, r)
	h.n = New(Config{Self: resource.Self{Name: "a"}}, Deps{Lease: h.lease, Health: h.health, Notices: nt,
		Plan: resource.NewPlan([]resource.Planned{{Resource: r}}, resource.PlanOptions{})})
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.n.Run(ctx) }()
	t.Cleanup(func() { h.stop() })
	return h, nt
}

var (
	peerB        = election.Peer{Name: "b", Eligible: true, Reachable: true}
	spotNotice   = notice.Notice{Kind: notice.SpotInterruption, Move: true, Action: "terminate", At: time.Now().Add(2 * time.Minute)}
	rebalanceRec = notice.Notice{Kind: notice.RebalanceRecommendation, At: time.Now()}
)

// waitNotices waits until the loop has stepped on the notices and returns
// its status then: the loop took the Changes hint (the channel is empty)
// and, being one goroutine, answers the next status request after that
// step.
func (h *harness) waitNotices(nt *fakeNotices, n int) Status {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if len(nt.changes) == 0 {
			st, err := h.n.Status(h.t.Context())
			if err != nil {
				h.t.Fatal(err)
			}
			if len(st.Notices) == n {
				return st
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the loop did not step on %d notices within 5s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitEligible(want bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.lease.isEligible() != want {
		if time.Now().After(deadline) {
			h.t.Fatalf("eligible reported to the lease: got %v, want %v", !want, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A primary told its instance is about to go hands the address over the
// way vipd standby does (it reports itself ineligible, so the election
// hands the lease to a peer, and releases), says why, and stays out until
// the notice is gone (issue 22).
func TestNoticeHandsAddressOverAndHoldsNodeOut(t *testing.T) {
	h, nt := startWithNotices(t)
	h.lease.setPeers(peerB)
	h.lease.grant(4)
	h.waitRole(StatePrimary)
	h.waitEligible(true)

	nt.set(spotNotice)
	h.waitRole(StateMaintenance)
	h.waitEligible(false)
	if calls, _ := h.log.snapshot(); calls[len(calls)-1] != "release route" {
		t.Fatalf("calls = %v, want the route released", calls)
	}
	st, err := h.n.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, tr := range st.Transitions {
		reasons = append(reasons, string(tr.To)+": "+tr.Reason)
	}
	for _, want := range []string{"releasing: instance notice: spot-interruption", "maintenance: instance notice: spot-interruption"} {
		if !slices.Contains(reasons, want) {
			t.Errorf("transitions %q lack %q", reasons, want)
		}
	}
	if len(st.Notices) != 1 || st.Notices[0].Kind != notice.SpotInterruption || st.Eligible {
		t.Errorf("status notices %v, eligible %v; want the Spot notice and not eligible", st.Notices, st.Eligible)
	}

	// The peer holds now; a grant while the notice lasts is not taken.
	h.lease.revoke("b", 5)
	h.lease.grant(6)
	h.waitRole(StateMaintenance)
	if calls, _ := h.log.snapshot(); slices.Contains(calls[1:], "acquire route") {
		t.Fatalf("node acquired while its instance was about to go: %v", calls)
	}

	// Gone (the instance was not interrupted after all): back in.
	h.lease.revoke("b", 7)
	nt.set()
	h.waitRole(StateBackup)
	h.waitEligible(true)
}

// A holder whose peers cannot take the address keeps it: an instance
// about to go serves better than nobody. It hands over once a peer can.
func TestNoticeKeepsAddressWhileNoPeerCanTakeIt(t *testing.T) {
	h, nt := startWithNotices(t)
	h.lease.setPeers(election.Peer{Name: "b", Eligible: false, Reachable: true}, election.Peer{Name: "w", Witness: true, Eligible: true, Reachable: true})
	h.lease.grant(4)
	h.waitRole(StatePrimary)
	nt.set(spotNotice)
	st := h.waitNotices(nt, 1)
	if st.Role != StatePrimary || !st.Eligible || !h.lease.isEligible() {
		t.Fatalf("role %s, eligible %v (lease told %v) with no peer able to take the address; want primary, eligible",
			st.Role, st.Eligible, h.lease.isEligible())
	}
	h.lease.setPeers(peerB)
	h.waitRole(StateMaintenance)
	h.waitEligible(false)
}

// A signal set to report changes nothing but status.
func TestReportedNoticeChangesNothing(t *testing.T) {
	h, nt := startWithNotices(t)
	h.lease.setPeers(peerB)
	h.lease.grant(4)
	h.waitRole(StatePrimary)
	nt.set(rebalanceRec)
	if st := h.waitNotices(nt, 1); st.Role != StatePrimary || !st.Eligible {
		t.Fatalf("role %s, eligible %v on a reported notice; want primary, eligible", st.Role, st.Eligible)
	}
	if calls, _ := h.log.snapshot(); slices.Contains(calls, "release route") {
		t.Fatalf("a reported notice released the route: %v", calls)
	}
}
