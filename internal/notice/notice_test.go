package notice_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/notice"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const instance = "i-0a1b2c3d4e5f60718"

// start runs vpcsim with one instance and returns a Poller reading that
// instance's IMDS through the SDK client vipd uses (awsapi.NewIMDS).
func start(t *testing.T, cfg notice.Config) (*vpcsim.Server, *notice.Poller) {
	t.Helper()
	srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, `
vpcs: [{name: v, cidr: 10.1.0.0/16}]
subnets: [{name: s, vpc: v, cidr: 10.1.1.0/24, az: a}]
instances: [{id: `+instance+`, subnet: s}]
`))
	return srv, notice.New(awsapi.NewIMDS(srv.IMDSURL(instance)), cfg, nil)
}

func every(mode notice.Mode) map[notice.Kind]notice.Mode {
	m := map[notice.Kind]notice.Mode{}
	for _, k := range notice.Kinds {
		m[k] = mode
	}
	return m
}

func announce(t *testing.T, srv *vpcsim.Server, ev vpcsim.InstanceEvent) {
	t.Helper()
	if err := srv.AnnounceEvent(instance, ev); err != nil {
		t.Fatal(err)
	}
}

func poll(t *testing.T, p *notice.Poller) []notice.Notice {
	t.Helper()
	if err := p.Poll(t.Context()); err != nil {
		t.Fatalf("poll: %v", err)
	}
	return p.Notices()
}

func TestPollerReadsNothingFromAnInstanceWithoutNotices(t *testing.T) {
	_, p := start(t, notice.Config{Signals: every(notice.Move)})
	if got := poll(t, p); len(got) != 0 {
		t.Errorf("notices = %v, want none", got)
	}
}

func TestPollerReadsASpotInterruption(t *testing.T) {
	srv, p := start(t, notice.Config{Signals: every(notice.Move)})
	before := time.Now()
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventSpotInterruption, Action: "stop", In: vpcsim.Duration(time.Minute)})
	got := poll(t, p)
	if len(got) != 1 {
		t.Fatalf("notices = %v, want the Spot interruption", got)
	}
	n := got[0]
	if n.Kind != notice.SpotInterruption || !n.Move || n.Action != "stop" ||
		n.At.Before(before.Add(59*time.Second)) || n.At.After(before.Add(62*time.Second)) {
		t.Errorf("notice = %+v, want a stop about a minute after %s that moves", n, before.UTC())
	}
	select {
	case <-p.Changes():
	default:
		t.Error("Changes not signalled for a new notice")
	}
	// Withdrawn, it is gone at the next poll.
	if err := srv.ClearEvents(instance, ""); err != nil {
		t.Fatal(err)
	}
	if got := poll(t, p); len(got) != 0 {
		t.Errorf("notices after withdrawal = %v, want none", got)
	}
}

func TestPollerReadsEachSignalInItsMode(t *testing.T) {
	srv, p := start(t, notice.Config{MaintenanceLead: 10 * time.Minute, Signals: map[notice.Kind]notice.Mode{
		notice.RebalanceRecommendation: notice.Report,
		notice.ScheduledMaintenance:    notice.Move,
		notice.AutoScalingTermination:  notice.Move,
	}})
	// Not read at all: its signal is not configured (ignore).
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventSpotInterruption})
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventRebalanceRecommendation})
	// An event due in two days is not a notice yet; canceled and completed
	// ones never are.
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventScheduledMaintenance, Action: "instance-retirement", In: vpcsim.Duration(48 * time.Hour)})
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventScheduledMaintenance, State: "canceled"})
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventScheduledMaintenance, State: "completed"})
	// InService is no notice.
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventAutoScaling, Action: "InService"})
	got := poll(t, p)
	if len(got) != 1 || got[0].Kind != notice.RebalanceRecommendation || got[0].Move {
		t.Fatalf("notices = %v, want only the rebalance recommendation, reported", got)
	}

	// Within the lead of its start, an active event is a notice.
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventScheduledMaintenance, Action: "system-reboot", In: vpcsim.Duration(5 * time.Minute)})
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventAutoScaling, Action: "Terminated"})
	got = poll(t, p)
	if len(got) != 3 {
		t.Fatalf("notices = %v, want rebalance, maintenance and Auto Scaling", got)
	}
	if m := got[1]; m.Kind != notice.ScheduledMaintenance || !m.Move || m.Action != "system-reboot" || m.ID == "" || time.Until(m.At) > 5*time.Minute {
		t.Errorf("maintenance notice = %+v, want a system-reboot in under 5m that moves", m)
	}
	if a := got[2]; a.Kind != notice.AutoScalingTermination || !a.Move || a.Action != "Terminated" {
		t.Errorf("Auto Scaling notice = %+v, want Terminated that moves", a)
	}
}

// TestPollerKeepsNoticesWhileIMDSFails: a read that fails is neither a
// notice nor the end of one, so an instance about to go keeps its notice
// while its metadata service does not answer.
func TestPollerKeepsNoticesWhileIMDSFails(t *testing.T) {
	srv, p := start(t, notice.Config{Signals: every(notice.Move)})
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventSpotInterruption})
	if got := poll(t, p); len(got) != 1 {
		t.Fatalf("notices = %v, want the Spot interruption", got)
	}
	if err := srv.SetIMDS(instance, false); err != nil {
		t.Fatal(err)
	}
	if err := p.Poll(t.Context()); err == nil {
		t.Error("poll of a silent IMDS succeeded")
	}
	if got := p.Notices(); len(got) != 1 || got[0].Kind != notice.SpotInterruption {
		t.Errorf("notices while IMDS fails = %v, want the Spot interruption kept", got)
	}
}

// TestPollerRunNoticesWithinAnInterval runs the poll loop and waits for a
// notice announced while it runs.
func TestPollerRunNoticesWithinAnInterval(t *testing.T) {
	srv, p := start(t, notice.Config{Interval: 100 * time.Millisecond, Signals: every(notice.Move)})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	announce(t, srv, vpcsim.InstanceEvent{Kind: vpcsim.EventAutoScaling})
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-p.Changes():
			if got := p.Notices(); len(got) == 1 && got[0].Kind == notice.AutoScalingTermination {
				return
			}
		case <-deadline:
			t.Fatalf("no Auto Scaling notice within 10s; notices = %v", p.Notices())
		}
	}
}
