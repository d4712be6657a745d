package vpcsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/simclient"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// notFound reports whether reading path from IMDS answers 404, as AWS does
// for an item that is not announced.
func notFound(t *testing.T, c *imds.Client, path string) bool {
	t.Helper()
	_, err := c.GetMetadata(t.Context(), &imds.GetMetadataInput{Path: path})
	var re *smithyhttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == 404
}

// TestIMDSAnnouncesNothingByDefault checks what a running instance with no
// notice reads: the Amazon EC2 User Guide ("Spot Instance interruption
// notices", "EC2 instance rebalance recommendations") says
// spot/instance-action and events/recommendations/rebalance answer HTTP
// 404 until EC2 announces something; events/maintenance/scheduled lists
// nothing; autoscaling/ exists only in an Auto Scaling group.
func TestIMDSAnnouncesNothingByDefault(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	c := imdsClient(srv.IMDSURL(nodeA))
	for _, p := range []string{"spot/instance-action", "spot/termination-time", "events/recommendations/rebalance", "autoscaling/target-lifecycle-state"} {
		if !notFound(t, c, p) {
			t.Errorf("%s: want 404 when nothing is announced", p)
		}
	}
	if got := metadata(t, c, "events/maintenance/scheduled"); got != "[]" {
		t.Errorf("events/maintenance/scheduled = %q, want []", got)
	}
}

// TestIMDSSpotInterruptionStopsInstance announces a Spot interruption and
// checks the notice's JSON ({"action": "stop", "time": "...Z"}, as the
// User Guide shows it) and that EC2 stops the instance at that time, after
// which its metadata service no longer answers.
func TestIMDSSpotInterruptionStopsInstance(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	c := imdsClient(srv.IMDSURL(nodeA))
	before := time.Now()
	if err := srv.AnnounceEvent(nodeA, vpcsim.InstanceEvent{Kind: vpcsim.EventSpotInterruption, Action: "stop", In: vpcsim.Duration(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	var ia struct {
		Action string `json:"action"`
		Time   string `json:"time"`
	}
	if err := json.Unmarshal([]byte(metadata(t, c, "spot/instance-action")), &ia); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, ia.Time)
	if err != nil {
		t.Fatalf("instance-action time %q: %v", ia.Time, err)
	}
	if ia.Action != "stop" || at.Before(before.Add(-time.Second)) || at.After(before.Add(4*time.Second)) {
		t.Errorf("instance-action = %+v, want stop about 3s after %s", ia, before.UTC())
	}
	// termination-time is there only for a termination.
	if !notFound(t, c, "spot/termination-time") {
		t.Error("spot/termination-time present for a stop")
	}

	ec2c := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv))
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := ec2c.DescribeInstances(t.Context(), &awsec2.DescribeInstancesInput{InstanceIds: []string{nodeA}})
		if err != nil {
			t.Fatal(err)
		}
		if st := out.Reservations[0].Instances[0].State.Name; st == "stopped" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("instance is %s 15s after its Spot interruption, want stopped", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: "spot/instance-action"}); err == nil {
		t.Error("a stopped instance's metadata service answered")
	}
}

// TestIMDSAnnouncesEachSignal announces each kind through the control
// endpoint (as tests in other processes and the demo do) and reads it back
// in the format the AWS documentation gives.
func TestIMDSAnnouncesEachSignal(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	ctl := simclient.New(srv.URL(), nil)
	c := imdsClient(srv.IMDSURL(nodeB))
	ctx := t.Context()
	announce := func(ev vpcsim.InstanceEvent) {
		t.Helper()
		if err := ctl.AnnounceEvent(ctx, nodeB, ev); err != nil {
			t.Fatal(err)
		}
	}

	announce(vpcsim.InstanceEvent{Kind: vpcsim.EventRebalanceRecommendation})
	var rb struct {
		NoticeTime string `json:"noticeTime"`
	}
	if err := json.Unmarshal([]byte(metadata(t, c, "events/recommendations/rebalance")), &rb); err != nil {
		t.Fatal(err)
	}
	if at, err := time.Parse(time.RFC3339, rb.NoticeTime); err != nil || time.Since(at) > 5*time.Second {
		t.Errorf("rebalance noticeTime %q: %v, want about now", rb.NoticeTime, err)
	}

	announce(vpcsim.InstanceEvent{Kind: vpcsim.EventScheduledMaintenance, Action: "instance-stop", In: vpcsim.Duration(48 * time.Hour)})
	announce(vpcsim.InstanceEvent{Kind: vpcsim.EventScheduledMaintenance, Action: "system-reboot", State: "canceled"})
	var events []struct {
		NotBefore, Code, Description, EventID, NotAfter, State string
	}
	if err := json.Unmarshal([]byte(metadata(t, c, "events/maintenance/scheduled")), &events); err != nil {
		t.Fatal(err)
	}
	if len(events) != 2 {
		t.Fatalf("scheduled events = %+v, want 2", events)
	}
	// "21 Jan 2019 09:00:43 GMT", the format of "View scheduled events".
	nb, err := time.Parse("2 Jan 2006 15:04:05 GMT", events[0].NotBefore)
	if err != nil {
		t.Fatal(err)
	}
	if e := events[0]; e.Code != "instance-stop" || e.State != "active" || e.EventID == "" || nb.Sub(time.Now()) < 47*time.Hour {
		t.Errorf("first event = %+v, want an active instance-stop in about 48h", e)
	}
	if e := events[1]; e.Code != "system-reboot" || e.State != "canceled" {
		t.Errorf("second event = %+v, want a canceled system-reboot", e)
	}

	announce(vpcsim.InstanceEvent{Kind: vpcsim.EventAutoScaling})
	if got := metadata(t, c, "autoscaling/target-lifecycle-state"); got != "Terminated" {
		t.Errorf("target-lifecycle-state = %q, want Terminated", got)
	}

	// Withdrawn, each goes back to what an instance without notices reads.
	if err := ctl.ClearEvents(ctx, nodeB, ""); err != nil {
		t.Fatal(err)
	}
	if !notFound(t, c, "events/recommendations/rebalance") || !notFound(t, c, "autoscaling/target-lifecycle-state") {
		t.Error("withdrawn notices still answered")
	}
	if got := metadata(t, c, "events/maintenance/scheduled"); got != "[]" {
		t.Errorf("scheduled events after clearing = %q, want []", got)
	}

	if err := ctl.AnnounceEvent(ctx, nodeB, vpcsim.InstanceEvent{Kind: "spot"}); err == nil {
		t.Error("unknown event kind accepted")
	}
	if err := ctl.AnnounceEvent(ctx, nodeB, vpcsim.InstanceEvent{Kind: vpcsim.EventSpotInterruption, Action: "reboot"}); err == nil {
		t.Error("unknown Spot action accepted")
	}
}

// TestIMDSWithdrawnSpotInterruptionIsNotCarriedOut clears a notice before
// its time: the instance keeps running.
func TestIMDSWithdrawnSpotInterruptionIsNotCarriedOut(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	if err := srv.AnnounceEvent(nodeA, vpcsim.InstanceEvent{Kind: vpcsim.EventSpotInterruption, In: vpcsim.Duration(200 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if got := metadata(t, imdsClient(srv.IMDSURL(nodeA)), "spot/termination-time"); got == "" {
		t.Error("spot/termination-time empty for a termination")
	}
	if err := srv.ClearEvents(nodeA, vpcsim.EventSpotInterruption); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // past the withdrawn time
	for _, in := range srv.Snapshot().Instances {
		if in.ID == nodeA && in.State != "running" {
			t.Errorf("instance is %s after its interruption was withdrawn, want running", in.State)
		}
	}
}

// TestIMDSSpotTerminationTerminatesInstance: a notice with action
// terminate ends in a terminated instance, as TerminateInstances does.
func TestIMDSSpotTerminationTerminatesInstance(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	if err := srv.AnnounceEvent(nodeA, vpcsim.InstanceEvent{Kind: vpcsim.EventSpotInterruption, In: vpcsim.Duration(500 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		state := ""
		for _, in := range srv.Snapshot().Instances {
			if in.ID == nodeA {
				state = in.State
			}
		}
		if state == "terminated" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance is %q 15s after a Spot termination notice, want terminated", state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
