package demo

import (
	"time"

	"github.com/vipd/vipd/internal/simcluster"
)

// clientOptions are the demo client's: it connects to the service
// address every 50 ms, one attempt after another, like an application
// reconnecting to its database.
var clientOptions = simcluster.ProberOptions{Every: 50 * time.Millisecond, Timeout: 500 * time.Millisecond}
