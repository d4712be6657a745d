package node

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/fence"
)

// fakeFencer records the members it is asked to stop, in the resources'
// call log so that the order shows.
type fakeFencer struct {
	log  *callLog
	mu   sync.Mutex
	fail error
}

func (f *fakeFencer) StopAt(_ context.Context, tok fence.Token, _, _ string, addr netip.Addr) error {
	if err := tok.Check(0); err != nil {
		return err
	}
	f.log.add("fence "+addr.String(), tok.N())
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail
}

// startFenced is start with a takeover fencer, and b as the holder the
// node sees before its grant, reachable or not.
func startFenced(t *testing.T, reachable bool, fail error) (*harness, *fakeFencer) {
	h := start(t, Config{})
	f := &fakeFencer{log: h.log, fail: fail}
	h.n.d.Fencer = f
	h.lease.mu.Lock()
	h.lease.st.Peers = []election.Peer{{Name: "b", Address: "10.0.2.10:7946", Reachable: reachable},
		{Name: "w", Address: "10.0.3.10:7946", Witness: true}}
	h.lease.mu.Unlock()
	h.lease.revoke("b", 6)
	h.waitRole(StateBackup)
	return h, f
}

// TestTakeoverFencesUnreachableHolder: with fence.before: takeover, a
// grant after a holder the election cannot reach stops that member's
// instance, under the new grant, before any resource is acquired; once
// taken over, a later regrant fences nobody.
func TestTakeoverFencesUnreachableHolder(t *testing.T) {
	h, _ := startFenced(t, false, nil)
	h.lease.grant(7)
	h.waitRole(StatePrimary)
	calls, toks := h.log.snapshot()
	want := []string{"fence 10.0.2.10", "acquire first", "acquire second"}
	if !slices.Equal(calls, want) || toks[0] != 7 {
		t.Fatalf("calls %v under tokens %v, want %v under 7", calls, toks, want)
	}
	h.lease.revoke("", 8)
	h.waitRole(StateBackup)
	h.lease.grant(9)
	h.waitRole(StatePrimary)
	if calls, _ := h.log.snapshot(); slices.Contains(calls[3:], "fence 10.0.2.10") {
		t.Fatalf("regrant with no other holder fenced again: %v", calls)
	}
}

// TestTakeoverSparesReachableHolder: a previous holder the election still
// reaches hears it lost the lease and lets go (a planned switchover): no
// fence.
func TestTakeoverSparesReachableHolder(t *testing.T) {
	h, _ := startFenced(t, true, nil)
	h.lease.grant(7)
	h.waitRole(StatePrimary)
	if calls, _ := h.log.snapshot(); !slices.Equal(calls, []string{"acquire first", "acquire second"}) {
		t.Fatalf("calls %v, want the acquires only", calls)
	}
}

// TestTakeoverWaitsForFence: a fence that fails (the instance not seen
// stopped, or refused) fails the takeover before anything is taken.
func TestTakeoverWaitsForFence(t *testing.T) {
	h, f := startFenced(t, false, errors.New("fenced instance not stopped"))
	h.lease.grant(7)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if calls, _ := h.log.snapshot(); len(calls) > 0 || time.Now().After(deadline) {
			break
		}
	}
	h.waitRole(StateBackup)
	if calls, _ := h.log.snapshot(); len(calls) == 0 || slices.ContainsFunc(calls, func(c string) bool { return c != "fence 10.0.2.10" && c[:7] == "acquire" }) {
		t.Fatalf("calls %v, want fences and no acquire", calls)
	}
	f.mu.Lock()
	f.fail = nil
	f.mu.Unlock()
	h.waitRole(StatePrimary)
}
