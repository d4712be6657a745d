package simcluster

import (
	"errors"
	"net/netip"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/vpcsim"
)

// loopbackCluster is nodes a and b on the loopback fabric, each running
// a shell that sleeps as its daemon, with services on port 5432; the
// client reaches node a's service at its private address.
func loopbackCluster(t *testing.T) *Cluster {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh: %v", err)
	}
	fab, err := StartLoopback(t.Context(), World("test", 3), vpcsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Name: "test", Fabric: fab, Dir: t.TempDir(), ServicePort: 5432,
		Hosts:  []Member{{Name: "a", InstanceID: InstanceA}, {Name: "b", InstanceID: InstanceB}},
		Client: ClientInstance, Target: netip.MustParseAddr("10.0.1.10")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	for _, h := range c.Hosts {
		h.Daemon = &Daemon{Argv: []string{sh, "-c", "exec sleep 60"}, Log: h.LogPath()}
	}
	if err := c.StartAll(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Each fault of the catalogue that `vipd demo` makes does what its name
// says, and healing it brings back what it took: kill and stop-cont act on
// the host's daemon, unhealthy on its service, api-faults on vpcsim.
func TestCatalogueInjectsAndHeals(t *testing.T) {
	c := loopbackCluster(t)
	a := c.Host("a")
	waitUntil(t, "a's service answers the client", func() bool { n, err := c.Reach(t.Context()); return err == nil && n == "a" })

	f, err := c.Inject(t.Context(), FaultKill, Target{Host: "a"})
	if err != nil || a.Running() {
		t.Fatalf("kill: err %v, running %v", err, a.Running())
	}
	if x := a.Exits(); len(x) != 1 || !x[0].Killed {
		t.Errorf("exits after kill = %+v, want one by the harness", x)
	}
	if err := f.Heal(); err != nil || !a.Running() {
		t.Fatalf("heal kill: err %v, running %v", err, a.Running())
	}

	f, err = c.Inject(t.Context(), FaultPause, Target{Host: "a", For: time.Second})
	if err != nil || !a.Paused() {
		t.Fatalf("stop-cont: err %v, paused %v", err, a.Paused())
	}
	_ = f.Heal()
	if a.Paused() {
		t.Error("paused after heal")
	}
	var whats []string
	for _, e := range a.Events() {
		whats = append(whats, e.What)
	}
	if want := []string{ProcStart, ProcStart, ProcPause, ProcResume}; !slices.Equal(whats, want) {
		t.Errorf("events %v, want %v", whats, want)
	}

	f, err = c.Inject(t.Context(), FaultUnhealthy, Target{Host: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Reach(t.Context()); err == nil {
		t.Errorf("client reached %q with a's service closed", n)
	}
	if err := f.Heal(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a's service answers again", func() bool { n, err := c.Reach(t.Context()); return err == nil && n == "a" })

	f, err = c.Inject(t.Context(), FaultAPIFaults, Target{})
	if err != nil || len(c.Srv.Faults()) != 2 {
		t.Fatalf("api-faults: err %v, vpcsim faults %+v", err, c.Srv.Faults())
	}
	_ = f.Heal()
	if fs := c.Srv.Faults(); len(fs) != 0 {
		t.Errorf("vpcsim faults after heal: %+v", fs)
	}
}

// A fault the fabric cannot make says so (loopback cannot cut links), and
// a name outside the catalogue is refused with the list.
func TestCatalogueRefuses(t *testing.T) {
	c := loopbackCluster(t)
	if _, err := c.Inject(t.Context(), FaultPartition, Target{Host: "a", Peer: "b"}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("partition on loopback: %v, want ErrUnsupported", err)
	}
	if _, err := c.Inject(t.Context(), "meteor", Target{Host: "a"}); !errors.Is(err, ErrUnknownFault) {
		t.Errorf("unknown fault: %v, want ErrUnknownFault", err)
	}
	if !slices.Contains(Faults(), FaultKill) || !slices.Contains(Faults(), FaultAPIFaults) {
		t.Errorf("Faults() = %v", Faults())
	}
}

// Healing a spot fault before the notice's time withdraws the notice, so
// EC2 does not stop the instance later, in the next round.
func TestSpotHealedBeforeItsTimeLeavesTheInstanceRunning(t *testing.T) {
	c := loopbackCluster(t)
	f, err := c.Inject(t.Context(), FaultSpot, Target{Host: "a", For: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Heal(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond) // past the notice's time
	for _, in := range c.Srv.Snapshot().Instances {
		if in.ID == InstanceA && in.State != "running" {
			t.Errorf("a's instance is %s after the healed notice's time, want running", in.State)
		}
	}
}
