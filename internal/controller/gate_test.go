package controller

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestWriteGateFirstWritesBeforeLater is issue 17's order: when many
// clusters move at once, every waiting first write (a cluster's first
// route) is admitted before any Later one (the remaining tables), each
// class in arrival order, and at most the gate's slots are in flight.
func TestWriteGateFirstWritesBeforeLater(t *testing.T) {
	g := newWriteGate(1)
	hold, err := g.Admit(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(name string, later bool) {
		wg.Go(func() {
			rel, err := g.Admit(t.Context(), later)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			rel()
		})
	}
	want := []string{"first-1", "first-2", "later-1", "later-2"}
	for _, w := range []struct {
		name  string
		later bool
	}{{"later-1", true}, {"first-1", false}, {"later-2", true}, {"first-2", false}} {
		before := count(g)
		enqueue(w.name, w.later)
		// Wait until it queued, so that arrival order is known.
		for deadline := time.Now().Add(5 * time.Second); count(g) == before && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if count(g) != before+1 {
			t.Fatalf("%s did not queue behind the held slot", w.name)
		}
	}
	hold()
	wg.Wait()
	if len(order) != len(want) {
		t.Fatalf("admitted %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("admitted %v, want %v", order, want)
		}
	}
	if g.free != 1 {
		t.Errorf("%d free slots after all released, want 1", g.free)
	}
}

// TestWriteGateCancelledWaiterLeavesQueue: a write whose context ends
// while it waits (its lease or step budget ran out) leaves the queue and
// takes no slot.
func TestWriteGateCancelledWaiterLeavesQueue(t *testing.T) {
	g := newWriteGate(1)
	hold, err := g.Admit(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Admit(ctx, true); err == nil {
		t.Fatal("admitted past a held slot")
	}
	if count(g) != 0 {
		t.Fatalf("%d still queued after the waiter's context ended", count(g))
	}
	hold()
	rel, err := g.Admit(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	rel()
	rel() // a second release is a no-op
	if g.free != 1 {
		t.Errorf("%d free slots, want 1", g.free)
	}
}

func count(g *writeGate) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queues[0]) + len(g.queues[1])
}
