package daemon

import (
	"log/slog"

	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/node"
	"github.com/vipd/vipd/internal/notice"
)

// newNotices builds the reader of this instance's announcements of its
// end from instance-notices, or nil when every signal is ignored.
func newNotices(cfg *config.Config, md notice.MetadataGetter, metrics *node.Metrics, log *slog.Logger) *notice.Poller {
	signals := notice.Signals(cfg)
	if len(signals) == 0 {
		return nil
	}
	n := cfg.InstanceNotices
	return notice.New(md, notice.Config{Interval: n.Interval, Signals: signals, MaintenanceLead: n.MaintenanceLead,
		Timeout: cfg.AWS.CallTimeout, Observe: metrics.ObserveNotice}, log)
}
