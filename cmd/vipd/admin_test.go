package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/admin"
)

// The text view reads at a glance, as crm_mon -1: whose view, the quorum
// line, the holder, then every member with a down one marked and why.
func TestStatusTextShowsTheCluster(t *testing.T) {
	now := time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC)
	st := admin.Status{Cluster: "c", Node: "w", Witness: true, Role: "witness", Since: now.Add(-time.Hour),
		Holder: "b", Token: 57, HolderSince: now.Add(-3 * time.Second), Quorum: true, Leader: "b", ViewAgeMS: 120,
		QuorumHave: 2, QuorumNeed: 2,
		Members: []admin.Member{
			{Name: "w", Self: true, Witness: true, Role: "witness", Healthy: true, Reachable: true, LastContact: now},
			{Name: "a", Role: "primary", Healthy: true, Standby: true, LastContact: now.Add(-5 * time.Second),
				Problem: "connection refused by 10.0.1.10:7946: vipd is not running there, or listens on another port"},
			{Name: "b", Holder: true, Role: "primary", Healthy: true, Eligible: true, Reachable: true, LastContact: now.Add(-200 * time.Millisecond)},
		}}
	var out bytes.Buffer
	printStatus(&out, st, now)
	for _, want := range []string{
		"Cluster c, seen from w (leader b, view 120ms old)",
		"Quorum: 2/3 members in contact, 2 needed: OK",
		"Address: held by b, token 57, since",
		"a DOWN primary ok no STANDBY 5s ago: connection refused by 10.0.1.10:7946",
		"* b up primary ok yes - 200ms ago",
	} {
		if !strings.Contains(squeeze(out.String()), want) {
			t.Errorf("status text lacks %q:\n%s", want, out.String())
		}
	}

	st.Quorum, st.QuorumHave, st.Leader = false, 1, ""
	out.Reset()
	printStatus(&out, st, now)
	for _, want := range []string{"(no leader: its own view)", "Quorum: 1/3 members in contact, 2 needed: NO QUORUM"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status text without quorum lacks %q:\n%s", want, out.String())
		}
	}
}

// A node out for an instance notice says so, and what the notice is
// (issue 22); a reported one says it changes nothing.
func TestStatusTextShowsNotices(t *testing.T) {
	now := time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC)
	st := admin.Status{Cluster: "c", Node: "a", Role: "maintenance", Since: now.Add(-time.Second), Holder: "b", Token: 9,
		Notices: []admin.Notice{
			{Kind: "spot-interruption", Action: "terminate", At: now.Add(2 * time.Minute), Move: true},
			{Kind: "rebalance-recommendation", At: now.Add(-time.Minute)},
		}}
	var out bytes.Buffer
	printStatus(&out, st, now)
	for _, want := range []string{
		"notice spot-interruption terminate at " + now.Add(2*time.Minute).Local().Format(time.RFC3339) + ": kept out of ownership until it is gone",
		"notice rebalance-recommendation at " + now.Add(-time.Minute).Local().Format(time.RFC3339) + ": reported only (instance-notices)",
	} {
		if !strings.Contains(squeeze(out.String()), want) {
			t.Errorf("status text lacks %q:\n%s", want, out.String())
		}
	}
}

// squeeze collapses the columns' padding to single spaces.
func squeeze(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n")
}

// standbyHandler is a daemon whose cluster the test describes.
type standbyHandler struct {
	mu    sync.Mutex
	st    admin.Status
	calls []string
}

func (h *standbyHandler) Status(context.Context) (admin.Status, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.st, nil
}
func (h *standbyHandler) Switchover(context.Context, string) error { return nil }
func (h *standbyHandler) Standby(_ context.Context, node string, on bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, node)
	if on && h.st.Holder == node {
		// The cluster hands the grant on.
		h.st.Holder, h.st.Token = "b", h.st.Token+1
	}
	return nil
}

func serveAdmin(t *testing.T, h admin.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "vipd.sock")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- admin.Serve(ctx, sock, h, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := 0; i < 100; i++ {
		if _, err := admin.NewClient(sock).Status(ctx); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return sock
}

// vipd standby on the holder says that it hands over first and where the
// address went; it refuses when nobody could take the address, unless
// --force.
func TestStandbySaysWhatItDidAndWhatComesNext(t *testing.T) {
	members := func(bEligible bool) []admin.Member {
		return []admin.Member{{Name: "a", Self: true, Holder: true, Eligible: true, Reachable: true},
			{Name: "b", Eligible: bEligible, Reachable: bEligible}, {Name: "w", Witness: true, Reachable: true}}
	}
	h := &standbyHandler{st: admin.Status{Node: "a", Holder: "a", Token: 7, QuorumNeed: 2, StandbyReplicated: true, Members: members(false)}}
	c := admin.NewClient(serveAdmin(t, h))
	var out bytes.Buffer
	err := standby(t.Context(), &out, c, "a", true, false)
	if err == nil || !strings.Contains(err.Error(), "no other node can take it") || len(h.calls) != 0 {
		t.Fatalf("standby on the only eligible holder: err %v, calls %v; want refused before asking the daemon", err, h.calls)
	}

	h.st.Members = members(true)
	out.Reset()
	if err := standby(t.Context(), &out, c, "a", true, false); err != nil {
		t.Fatalf("standby on a: %v", err)
	}
	for _, want := range []string{"a holds the address: it hands it over first (to one of b)",
		"a is in standby (recorded by the cluster", "address moved from a to b (token 8)",
		"next: a will not take the address until vipd standby off --node a"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("vipd standby on --node a lacks %q:\n%s", want, out.String())
		}
	}
}

// vipd status --watch prints the status again every --interval until
// interrupted, and exits 0 then.
func TestStatusWatchRefreshesUntilInterrupted(t *testing.T) {
	h := &standbyHandler{st: admin.Status{Cluster: "c", Node: "a", Holder: "a", Token: 3, QuorumHave: 1, QuorumNeed: 2,
		Members: []admin.Member{{Name: "a", Self: true, Reachable: true}}}}
	sock := serveAdmin(t, h)
	var out syncWriter
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmd := newStatusCmd(&sock)
	cmd.SetArgs([]string{"--watch", "--interval", "50ms"})
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "Quorum: 1/1") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("vipd status --watch printed within 5s:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("vipd status --watch after interrupt: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("vipd status --watch did not stop within 5s of the interrupt")
	}
}

// syncWriter is a buffer the test reads while the command writes.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
