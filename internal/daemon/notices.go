package daemon

import (
	"log/slog"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/node"
	"github.com/vipd/vipd/internal/notice"
)

// newNotices builds the reader of this instance's announcements of its
// end from instance-notices, or nil when every signal is ignored. In
// follow mode the database decides where the address goes: moving it off
// the database's primary would break the service, so every signal is only
// reported.
func newNotices(cfg *config.Config, md notice.MetadataGetter, metrics *node.Metrics, log *slog.Logger) *notice.Poller {
	n := cfg.InstanceNotices
	signals := map[notice.Kind]notice.Mode{}
	for k, v := range map[notice.Kind]string{
		notice.SpotInterruption:        n.SpotInterruption,
		notice.RebalanceRecommendation: n.RebalanceRecommendation,
		notice.ScheduledMaintenance:    n.ScheduledMaintenance,
		notice.AutoScalingTermination:  n.AutoScalingTermination,
	} {
		switch {
		case v == config.NoticeIgnore:
		case v == config.NoticeMove && cfg.Election.Backend != config.BackendFollow:
			signals[k] = notice.Move
		default:
			signals[k] = notice.Report
		}
	}
	if len(signals) == 0 {
		return nil
	}
	return notice.New(md, notice.Config{Interval: n.Interval, Signals: signals, MaintenanceLead: n.MaintenanceLead,
		Timeout: cfg.AWS.CallTimeout, Observe: metrics.ObserveNotice}, log)
}
