package ec2

import (
	"fmt"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/vpcsim/faults"
	"github.com/vipd/vipd/internal/vpcsim/imds"
)

// The kinds of instance event an instance's metadata announces
// (InstanceEvent.Kind).
const (
	// EventSpotInterruption is a Spot Instance interruption notice
	// (meta-data/spot/instance-action): EC2 stops, terminates or
	// hibernates the instance at its time, two minutes after the notice
	// ("Spot Instance interruption notices", Amazon EC2 User Guide).
	EventSpotInterruption = "spot-interruption"
	// EventRebalanceRecommendation is an EC2 instance rebalance
	// recommendation (meta-data/events/recommendations/rebalance): the
	// Spot Instance is at elevated risk of interruption; nothing follows
	// by itself ("EC2 instance rebalance recommendations").
	EventRebalanceRecommendation = "rebalance-recommendation"
	// EventScheduledMaintenance is a scheduled event
	// (meta-data/events/maintenance/scheduled): a reboot, stop or
	// retirement EC2 has planned for the instance ("Scheduled events for
	// your instances").
	EventScheduledMaintenance = "scheduled-maintenance"
	// EventAutoScaling sets the instance's Auto Scaling target lifecycle
	// state (meta-data/autoscaling/target-lifecycle-state), e.g.
	// Terminated when a scale-in picked it ("Retrieve the target
	// lifecycle state through instance metadata", EC2 Auto Scaling User
	// Guide).
	EventAutoScaling = "autoscaling"
)

// EventKinds lists the instance event kinds.
var EventKinds = []string{EventSpotInterruption, EventRebalanceRecommendation, EventScheduledMaintenance, EventAutoScaling}

// spotActions are the Spot interruption behaviours; hibernate starts at
// once, without the two-minute warning.
var spotActions = []string{"stop", "terminate", "hibernate"}

// maintenanceCodes are the scheduled event codes (InstanceStatusEvent in
// the EC2 API Reference).
var maintenanceCodes = []string{"instance-reboot", "system-reboot", "system-maintenance", "instance-retirement", "instance-stop"}

// maintenanceStates are the states a scheduled event is listed in.
var maintenanceStates = []string{"active", "completed", "canceled"}

// spotWarning is how long before the interruption EC2 gives notice.
const spotWarning = 2 * time.Minute

// InstanceEvent is what a control call announces to an instance through
// its metadata.
type InstanceEvent struct {
	// Kind is one of EventKinds.
	Kind string `json:"kind"`
	// Action is, for a Spot interruption, stop, terminate (default) or
	// hibernate; for scheduled maintenance, the event code (default
	// system-reboot); for Auto Scaling, the target lifecycle state
	// (default Terminated). Unused for a rebalance recommendation.
	Action string `json:"action,omitempty"`
	// In is how long from now the event is due: the Spot action's time
	// (default two minutes; hibernate: now), when EC2 then acts on the
	// instance; a maintenance event's NotBefore (default now). Unused
	// otherwise.
	In faults.Duration `json:"in,omitempty"`
	// Window is a maintenance event's NotAfter minus NotBefore (default
	// one hour).
	Window faults.Duration `json:"window,omitempty"`
	// State is a maintenance event's state: active (default), completed
	// or canceled; EC2 lists finished events for a while.
	State string `json:"state,omitempty"`
	// Description is a maintenance event's description (default: its
	// code).
	Description string `json:"description,omitempty"`
}

// instanceNotices are the events an instance's metadata announces.
type instanceNotices struct {
	spot        *imds.SpotAction
	rebalance   time.Time
	maintenance []imds.MaintenanceEvent
	autoscaling string
}

func (n instanceNotices) clone() instanceNotices {
	n.maintenance = slices.Clone(n.maintenance)
	if n.spot != nil {
		s := *n.spot
		n.spot = &s
	}
	return n
}

// withDefaults checks ev and fills its defaults.
func (ev InstanceEvent) withDefaults() (InstanceEvent, error) {
	switch ev.Kind {
	case EventSpotInterruption:
		if ev.Action == "" {
			ev.Action = "terminate"
		}
		if !slices.Contains(spotActions, ev.Action) {
			return ev, fmt.Errorf("spot interruption action %q is not one of %v", ev.Action, spotActions)
		}
		if ev.In == 0 && ev.Action != "hibernate" {
			ev.In = faults.Duration(spotWarning)
		}
	case EventRebalanceRecommendation:
	case EventScheduledMaintenance:
		if ev.Action == "" {
			ev.Action = "system-reboot"
		}
		if !slices.Contains(maintenanceCodes, ev.Action) {
			return ev, fmt.Errorf("scheduled event code %q is not one of %v", ev.Action, maintenanceCodes)
		}
		if ev.State == "" {
			ev.State = "active"
		}
		if !slices.Contains(maintenanceStates, ev.State) {
			return ev, fmt.Errorf("scheduled event state %q is not one of %v", ev.State, maintenanceStates)
		}
		if ev.Window == 0 {
			ev.Window = faults.Duration(time.Hour)
		}
		if ev.Description == "" {
			ev.Description = ev.Action
		}
	case EventAutoScaling:
		if ev.Action == "" {
			ev.Action = "Terminated"
		}
	default:
		return ev, fmt.Errorf("instance event kind %q is not one of %v", ev.Kind, EventKinds)
	}
	if ev.In < 0 || ev.Window < 0 {
		return ev, fmt.Errorf("instance event %s: negative time", ev.Kind)
	}
	return ev, nil
}

// AnnounceEvent makes an instance's metadata announce ev, replacing an
// earlier event of its kind (scheduled events add to the list). A Spot
// interruption is carried out at its time: the instance stops (stop,
// hibernate) or terminates, taking Timing.InstanceStop as the API's
// calls do, and the notice goes with it. Other events change nothing by
// themselves. The instance must be running.
func (s *Account) AnnounceEvent(instanceID string, ev InstanceEvent) error {
	ev, err := ev.withDefaults()
	if err != nil {
		return fmt.Errorf("announce event to %s: %w", instanceID, err)
	}
	return s.mutate(func(st *state) error {
		in := st.instance(instanceID)
		if in == nil {
			return fmt.Errorf("announce event to %s: instance: %w", instanceID, ErrNotFound)
		}
		if in.state != "running" {
			return fmt.Errorf("announce event to %s: instance is %s, not running", instanceID, in.state)
		}
		now := time.Now().UTC()
		at := now.Add(time.Duration(ev.In))
		switch ev.Kind {
		case EventSpotInterruption:
			// The notice names a whole second; EC2 acts at about that time.
			in.notices.spot = &imds.SpotAction{Action: ev.Action, Time: at.Truncate(time.Second)}
			st.schedule(time.Duration(ev.In), func(st *state) { s.interrupt(st, in) })
		case EventRebalanceRecommendation:
			in.notices.rebalance = now.Truncate(time.Second)
		case EventScheduledMaintenance:
			in.notices.maintenance = append(in.notices.maintenance, imds.MaintenanceEvent{
				Code: ev.Action, Description: ev.Description, EventID: "instance-event-" + randomHex(17),
				NotBefore: at.Truncate(time.Second), NotAfter: at.Add(time.Duration(ev.Window)).Truncate(time.Second),
				State: ev.State,
			})
		case EventAutoScaling:
			in.notices.autoscaling = ev.Action
		}
		return nil
	})
}

// ClearEvents withdraws what an instance's metadata announces: the events
// of kind, or every kind when kind is "". A withdrawn Spot interruption is
// not carried out.
func (s *Account) ClearEvents(instanceID, kind string) error {
	if kind != "" && !slices.Contains(EventKinds, kind) {
		return fmt.Errorf("clear events of %s: kind %q is not one of %v", instanceID, kind, EventKinds)
	}
	return s.mutate(func(st *state) error {
		in := st.instance(instanceID)
		if in == nil {
			return fmt.Errorf("clear events of %s: instance: %w", instanceID, ErrNotFound)
		}
		all := kind == ""
		if all || kind == EventSpotInterruption {
			in.notices.spot = nil
		}
		if all || kind == EventRebalanceRecommendation {
			in.notices.rebalance = time.Time{}
		}
		if all || kind == EventScheduledMaintenance {
			in.notices.maintenance = nil
		}
		if all || kind == EventAutoScaling {
			in.notices.autoscaling = ""
		}
		return nil
	})
}

// interrupt carries out a Spot interruption that is still announced: the
// instance stops (or terminates) as StopInstances (TerminateInstances)
// would, and its Spot notices go, since a stopped instance that starts
// again is a new chance at capacity.
func (s *Account) interrupt(st *state, in *instance) {
	sp := in.notices.spot
	if sp == nil || in.state != "running" {
		return
	}
	in.notices.spot, in.notices.rebalance = nil, time.Time{}
	d := s.opts.Timing.InstanceStop.Sample()
	if sp.Action == "terminate" {
		in.state = "shutting-down"
		st.schedule(d, func(st *state) { st.terminate(in) })
		return
	}
	in.state = "stopping"
	st.schedule(d, func(st *state) {
		if in.state == "stopping" {
			in.state = "stopped"
		}
	})
}
