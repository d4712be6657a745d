package electiontest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/fence"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func signalled(l *Lease) bool {
	select {
	case <-l.Changes():
		return true
	default:
		return false
	}
}

func TestGrantRevokeExpire(t *testing.T) {
	c := NewCluster([]string{"a", "b"}, "w")
	a, b := c.Node("a"), c.Node("b")
	signalled(a)

	tok := c.Grant("a")
	if !signalled(a) || !signalled(b) {
		t.Error("Grant did not signal every member")
	}
	if st := a.Status(); !st.Held || st.Holder != "a" || st.Token != tok {
		t.Errorf("a's status after Grant: %+v", st)
	}
	if st := b.Status(); st.Held || st.Holder != "a" || st.Token != tok {
		t.Errorf("b's status after Grant: %+v", st)
	}
	ft := a.Status().Fence(a.Valid)
	if err := ft.Check(time.Second); err != nil {
		t.Errorf("fence check of a fresh grant: %v", err)
	}

	c.Expire()
	if signalled(a) {
		t.Error("Expire signalled; it must go unnoticed")
	}
	if !a.Status().Held {
		t.Error("a no longer Held after Expire; Status must not notice")
	}
	if err := ft.Check(0); !errors.Is(err, fence.ErrStale) {
		t.Errorf("fence check after Expire = %v, want %v", err, fence.ErrStale)
	}

	if tok2 := c.Grant("b"); tok2 <= tok {
		t.Errorf("second token %d, want > %d", tok2, tok)
	}
	c.Revoke()
	if h, _ := c.Holder(); h != "" {
		t.Errorf("holder after Revoke = %q, want none", h)
	}
	if st := b.Status(); st.Held || st.Token != 0 {
		t.Errorf("b's status after Revoke: %+v", st)
	}
}

func TestSetEligibleAndTransfer(t *testing.T) {
	c := NewCluster([]string{"a", "b"}, "w")
	c.AutoElect = true
	ctx := t.Context()
	a, b, w := c.Node("a"), c.Node("b"), c.Node("w")

	if err := a.SetEligible(ctx, true, 100); err != nil {
		t.Fatal(err)
	}
	if h, _ := c.Holder(); h != "a" {
		t.Fatalf("holder = %q, want a (AutoElect)", h)
	}
	if err := b.SetEligible(ctx, true, 50); err != nil {
		t.Fatal(err)
	}
	if err := w.SetEligible(ctx, true, 1); !errors.Is(err, election.ErrNotEligible) {
		t.Errorf("SetEligible on witness = %v, want %v", err, election.ErrNotEligible)
	}
	for _, tc := range []struct {
		to   string
		want error
	}{
		{to: "nobody", want: election.ErrUnknownNode},
		{to: "w", want: election.ErrNotEligible},
		{to: "", want: nil},
		{to: "a", want: nil},
	} {
		if err := w.Transfer(ctx, tc.to); !errors.Is(err, tc.want) {
			t.Errorf("Transfer(%q) = %v, want %v", tc.to, err, tc.want)
		}
	}
	if h, _ := c.Holder(); h != "a" {
		t.Errorf("holder = %q, want a", h)
	}
	c.FailTransfers(ErrTransfer)
	if err := a.Transfer(ctx, "b"); !errors.Is(err, ErrTransfer) {
		t.Errorf("Transfer with FailTransfers = %v, want %v", err, ErrTransfer)
	}
	c.FailTransfers(nil)

	// An ineligible holder loses the lease to the best eligible node.
	if err := a.SetEligible(ctx, false, 100); err != nil {
		t.Fatal(err)
	}
	if h, _ := c.Holder(); h != "b" {
		t.Errorf("holder after a became ineligible = %q, want b", h)
	}
	// A holder that stops gives the lease up.
	runCtx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	if h, _ := c.Holder(); h != "" {
		t.Errorf("holder after b stopped = %q, want none", h)
	}

	want := []Call{
		{Node: "a", Op: "SetEligible", Eligible: true, Priority: 100},
		{Node: "b", Op: "SetEligible", Eligible: true, Priority: 50},
		{Node: "w", Op: "SetEligible", Eligible: true, Priority: 1},
		{Node: "w", Op: "Transfer", To: "nobody"},
		{Node: "w", Op: "Transfer", To: "w"},
		{Node: "w", Op: "Transfer", To: ""},
		{Node: "w", Op: "Transfer", To: "a"},
		{Node: "a", Op: "Transfer", To: "b"},
		{Node: "a", Op: "SetEligible", Eligible: false, Priority: 100},
	}
	if diff := cmp.Diff(want, c.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}
