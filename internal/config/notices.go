package config

import "time"

// Instance notice actions (InstanceNotices' per-signal fields).
const (
	// NoticeMove hands the address to another node as a planned
	// switchover and keeps this node out until the notice is gone.
	NoticeMove = "move"
	// NoticeReport logs the notice and shows it in metrics and vipd
	// status, and changes nothing.
	NoticeReport = "report"
	// NoticeIgnore does not read the signal.
	NoticeIgnore = "ignore"
)

// noticeActions is the closed set of per-signal actions.
var noticeActions = []string{NoticeMove, NoticeReport, NoticeIgnore}

// MinNoticeInterval is the shortest instance-notices.interval Validate
// accepts: each poll reads up to four metadata items, and IMDS limits
// requests per instance; AWS recommends checking for Spot interruption
// notices every 5 seconds.
const MinNoticeInterval = time.Second

// InstanceNotices says which announcements of this instance's end, read
// from the instance metadata service (IMDS), make the node move the
// address away before the instance goes (Config.InstanceNotices says
// what each action does). In follow mode the database decides where the
// address goes, so every signal is only reported.
type InstanceNotices struct {
	// Interval between two reads of the signals. At least 1s. Default 5s,
	// as AWS recommends for Spot interruption notices.
	Interval time.Duration `yaml:"interval"`
	// SpotInterruption is the Spot interruption notice
	// (spot/instance-action): EC2 stops, hibernates or terminates the
	// instance two minutes later. Default move.
	SpotInterruption string `yaml:"spot-interruption"`
	// RebalanceRecommendation is the EC2 rebalance recommendation
	// (events/recommendations/rebalance): the Spot Instance is at
	// elevated risk of interruption. It may last for hours without an
	// interruption, and a node kept out that long leaves the address
	// without a spare; the interruption notice still gives two minutes.
	// Default report.
	RebalanceRecommendation string `yaml:"rebalance-recommendation"`
	// ScheduledMaintenance is an active scheduled event
	// (events/maintenance/scheduled: a reboot, stop or retirement); it
	// counts from MaintenanceLead before its NotBefore. Default move.
	ScheduledMaintenance string `yaml:"scheduled-maintenance"`
	// MaintenanceLead is how long before a scheduled event's start the
	// node moves. Default 10m.
	MaintenanceLead time.Duration `yaml:"maintenance-lead"`
	// AutoScalingTermination is the Auto Scaling target lifecycle state
	// Terminated (autoscaling/target-lifecycle-state): a scale-in or
	// instance refresh picked this instance. Default move.
	AutoScalingTermination string `yaml:"autoscaling-termination"`
}

// defaultInstanceNotices returns the defaults of instance-notices.
func defaultInstanceNotices() InstanceNotices {
	return InstanceNotices{
		Interval:                5 * time.Second,
		SpotInterruption:        NoticeMove,
		RebalanceRecommendation: NoticeReport,
		ScheduledMaintenance:    NoticeMove,
		MaintenanceLead:         10 * time.Minute,
		AutoScalingTermination:  NoticeMove,
	}
}

func (v *validator) instanceNotices(c *Config) {
	n := c.InstanceNotices
	if n.Interval < MinNoticeInterval {
		v.errorf("instance-notices.interval", "%s is shorter than the minimum %s", n.Interval, MinNoticeInterval)
	}
	if n.MaintenanceLead < 0 {
		v.errorf("instance-notices.maintenance-lead", "%s is negative", n.MaintenanceLead)
	}
	v.enum("instance-notices.spot-interruption", n.SpotInterruption, noticeActions)
	v.enum("instance-notices.rebalance-recommendation", n.RebalanceRecommendation, noticeActions)
	v.enum("instance-notices.scheduled-maintenance", n.ScheduledMaintenance, noticeActions)
	v.enum("instance-notices.autoscaling-termination", n.AutoScalingTermination, noticeActions)
}
