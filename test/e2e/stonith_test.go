//go:build e2e

package e2e

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/chaos"
	"github.com/vipd/vipd/internal/simcluster"
	"github.com/vipd/vipd/internal/vpcsim"
)

// TestNetnsStonithStopsUnreachableOwner: an eni cluster with
// fence.stop-instance on the netns fabric. The holder is cut off from its
// peers, the witness and the EC2 API — it still runs and still has the
// floating interface attached, so the client's packets still reach it —
// and the other node, once it holds the lease and the old holder has not
// let go within detach-timeout, stops it with StopInstances Force under
// its fencing token, waits until EC2 reports it stopped, and only then
// force-detaches the interface and attaches it to itself; the client is
// then served there. Asserted from vpcsim, not from vipd: its call log
// (who stopped what, with Force, under which token; the forced detach
// after it) and its state read every 10 ms (the interface never leaves
// the old holder while that instance still runs).
func TestNetnsStonithStopsUnreachableOwner(t *testing.T) {
	c := startNetns(t, chaos.Options{Mode: chaos.ModeENI, Fence: true})
	p := c.Holder(t.Context())
	if p == "" {
		t.Fatal("no holder after start")
	}
	waitServed(t, c, p, 5*time.Second)
	q := other(p)
	old, next := c.Host(p).InstanceID, c.Host(q).InstanceID
	since := uint64(0)
	if calls := c.Srv.Calls(0); len(calls) > 0 {
		since = calls[len(calls)-1].Seq
	}

	// Watch vpcsim's state from before the cut until the new holder
	// serves: every sight of the interface away from the old holder's
	// instance must find that instance stopped.
	wctx, stopWatch := context.WithCancel(t.Context())
	var watch sync.WaitGroup
	var early []string
	var sawStopped time.Time
	watch.Go(func() {
		for wctx.Err() == nil {
			st := c.Srv.Snapshot()
			state := instanceState(st, old)
			if state == "stopped" && sawStopped.IsZero() {
				sawStopped = time.Now()
			}
			i := slices.IndexFunc(st.NetworkInterfaces, func(e vpcsim.NetworkInterfaceState) bool { return e.ID == chaos.FloatENI })
			if i >= 0 {
				e := st.NetworkInterfaces[i]
				held := e.Instance == old && (e.AttachmentStatus == "attached" || e.AttachmentStatus == "attaching")
				if !held && state != "stopped" && len(early) < 5 {
					early = append(early, "interface "+e.AttachmentStatus+" to "+e.Instance+" while "+old+" is "+state)
				}
			}
			sleep(wctx, 10*time.Millisecond)
		}
	})

	// Cut, do not kill: the old holder's vipd runs on, reaches neither
	// peer nor API, and so can neither hear it lost the lease nor detach.
	for _, f := range []string{simcluster.FaultIsolate, simcluster.FaultCutAPI} {
		in, err := c.Inject(t.Context(), f, simcluster.Target{Host: p})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = in.Heal() })
	}
	cut := time.Now()
	took := waitServed(t, c, q, 45*time.Second)
	stopWatch()
	watch.Wait()
	t.Logf("client served by %s %s after %s was cut off; %s seen stopped %s after the cut",
		q, took.Round(time.Millisecond), p, old, sawStopped.Sub(cut).Round(time.Millisecond))
	for _, e := range early {
		t.Errorf("before the fence: %s", e)
	}
	if sawStopped.IsZero() {
		t.Errorf("%s (%s) never seen stopped", old, p)
	}
	if owner := c.Owner(); owner != q {
		t.Fatalf("vpcsim gives the interface to %q, want %s", owner, q)
	}

	// The call log: one forced stop of the old holder by the new one
	// under a fencing token, none of the new holder, then the forced
	// detach, by the new holder, after the stop took effect.
	var stop, detach *vpcsim.Call
	for _, call := range c.Srv.Calls(since) {
		switch call.Action {
		case "StopInstances":
			if call.Params["InstanceId.1"] == next {
				t.Errorf("call %d: %s stopped the new holder %s", call.Seq, call.Caller, next)
			}
			if call.Code == "" && call.Params["InstanceId.1"] == old && stop == nil {
				stop = &call
			}
		case "DetachNetworkInterface":
			if call.Code == "" && detach == nil {
				detach = &call
			}
		}
	}
	switch {
	case stop == nil:
		t.Fatalf("no StopInstances of %s in vpcsim's call log", old)
	case stop.Caller != next || stop.Params["Force"] != "true" || stop.Token == 0:
		t.Errorf("StopInstances of %s: caller %s, Force %q, token %d; want the new holder %s, Force true, a fencing token",
			old, stop.Caller, stop.Params["Force"], stop.Token, next)
	}
	switch {
	case detach == nil:
		t.Fatal("no DetachNetworkInterface in vpcsim's call log")
	case detach.Caller != next || detach.Params["Force"] != "true":
		t.Errorf("DetachNetworkInterface: caller %s, Force %q; want the new holder %s with Force", detach.Caller, detach.Params["Force"], next)
	case !detach.Applied.After(stop.Applied):
		t.Errorf("forced detach applied at %s, not after the stop at %s", detach.Applied.Format(time.StampMicro), stop.Applied.Format(time.StampMicro))
	}
	if detach != nil && stop != nil && detach.Token < stop.Token {
		t.Errorf("forced detach under token %d, older than the fence's %d", detach.Token, stop.Token)
	}
}

// instanceState is an instance's state in st ("" when absent).
func instanceState(st vpcsim.State, id string) string {
	for _, in := range st.Instances {
		if in.ID == id {
			return in.State
		}
	}
	return ""
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// TestNetnsStonithBeforeTakeover: a route-only cluster (overlay-route)
// with fence.before: takeover. A planned switchover stops nobody: the old
// holder is reachable and lets go. Then the holder is cut off from its
// peers and the EC2 API, still running and still bound: the next holder
// stops its instance with StopInstances Force under its token, and only
// after that writes the route (vpcsim's call log), and the client is
// served there.
func TestNetnsStonithBeforeTakeover(t *testing.T) {
	c := startNetns(t, chaos.Options{Mode: chaos.ModeOverlay, Fence: true})
	p := c.Holder(t.Context())
	if p == "" {
		t.Fatal("no holder after start")
	}
	waitServed(t, c, p, 5*time.Second)
	q := other(p)
	if _, err := c.Inject(t.Context(), simcluster.FaultSwitchover, simcluster.Target{Host: p, Peer: q}); err != nil {
		t.Fatal(err)
	}
	waitServed(t, c, q, 20*time.Second)
	for _, call := range c.Srv.Calls(0) {
		if call.Action == "StopInstances" {
			t.Fatalf("a planned switchover from %s to %s stopped %s (call %d by %s)", p, q, call.Params["InstanceId.1"], call.Seq, call.Caller)
		}
	}
	p, q = q, p
	old, next := c.Host(p).InstanceID, c.Host(q).InstanceID
	calls := c.Srv.Calls(0)
	since := calls[len(calls)-1].Seq
	in, err := c.Inject(t.Context(), simcluster.FaultCutOff, simcluster.Target{Host: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Heal() })
	cut := time.Now()
	waitServed(t, c, q, 45*time.Second)
	t.Logf("client served by %s %s after %s was cut off", q, time.Since(cut).Round(time.Millisecond), p)
	if got := instanceState(c.Srv.Snapshot(), old); got != "stopped" {
		t.Errorf("the cut-off holder %s (%s) is %q, want stopped", p, old, got)
	}
	var stop *vpcsim.Call
	for _, call := range c.Srv.Calls(since) {
		switch {
		case call.Action == "StopInstances" && call.Code == "":
			if call.Caller != next || call.Params["InstanceId.1"] != old || call.Params["Force"] != "true" || call.Token == 0 {
				t.Errorf("call %d: %s stopped %s (Force %q, token %d); want %s stopping %s with Force under a token",
					call.Seq, call.Caller, call.Params["InstanceId.1"], call.Params["Force"], call.Token, next, old)
			}
			if stop == nil {
				stop = &call
			}
		case (call.Action == "ReplaceRoute" || call.Action == "CreateRoute") && call.Caller == next && call.Code == "":
			if stop == nil {
				t.Fatalf("call %d: %s wrote a route before stopping %s", call.Seq, next, old)
			}
		}
	}
	if stop == nil {
		t.Fatalf("no StopInstances of %s in vpcsim's call log", old)
	}
}
