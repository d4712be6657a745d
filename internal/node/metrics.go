package node

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/notice"
	"github.com/vipd/vipd/internal/version"
)

// Metrics are the node's Prometheus metrics. Labels are bounded: states,
// resource kinds, AWS operation names and error codes, hook states.
type Metrics struct {
	state        *prometheus.GaugeVec
	token        prometheus.Gauge
	transitions  *prometheus.CounterVec
	acquire      *prometheus.HistogramVec
	repairs      *prometheus.CounterVec
	contests     *prometheus.CounterVec
	hookFailures *prometheus.CounterVec
	notices      *prometheus.GaugeVec
	noticeErrors *prometheus.CounterVec
	handovers    *prometheus.CounterVec
	aws          *awsapi.CallMetrics
	// live is read at each scrape: the election's view of quorum and
	// peers and the health checks, so the numbers are as fresh as
	// vipd status, not as old as the last transition.
	live atomic.Pointer[liveSource]
}

// liveSource is what the scrape-time metrics read; both are safe to call
// from any goroutine and return without I/O.
type liveSource struct {
	lease  election.Lease
	health Health // nil on a witness
}

var allStates = []State{StateInit, StateBackup, StateAcquiring, StatePrimary, StateReleasing, StateFault, StateMaintenance, StateWitness, StateStopped}

// NewMetrics registers the node's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vipd_state", Help: "1 for the node's current state, 0 for the others.",
		}, []string{"state"}),
		token: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vipd_lease_token", Help: "Fencing token of the newest grant this node knows.",
		}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_transitions_total", Help: "State transitions by from, to and reason.",
		}, []string{"from", "to", "reason"}),
		acquire: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vipd_acquire_duration_seconds", Help: "Time to acquire one resource, read-back included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_drift_repairs_total", Help: "Drift found and repaired while primary, by resource kind.",
		}, []string{"kind"}),
		contests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_contested_total", Help: "Reconciles that found another node's claim and, in follow mode, left it alone, by resource kind.",
		}, []string{"kind"}),
		hookFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_hook_failures_total", Help: "Notify scripts that failed or timed out, by state.",
		}, []string{"state"}),
		notices: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vipd_instance_notice", Help: "1 while the instance metadata announces this instance's end (a Spot interruption, rebalance recommendation, scheduled maintenance, Auto Scaling termination), by kind.",
		}, []string{"kind"}),
		noticeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_instance_notice_read_errors_total", Help: "Reads of an instance notice from the instance metadata that failed, by kind.",
		}, []string{"kind"}),
		handovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_notice_handovers_total", Help: "Times this node, as primary, handed the address over because of an instance notice, by kind.",
		}, []string{"kind"}),
	}
	v := version.Get()
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "vipd_build_info", Help: "Always 1; the labels say which vipd build runs.",
		ConstLabels: prometheus.Labels{"version": v.Version, "commit": v.Commit, "goversion": v.Go},
	})
	buildInfo.Set(1)
	reg.MustRegister(m.state, m.token, m.transitions, m.acquire, m.repairs, m.contests, m.hookFailures,
		m.notices, m.noticeErrors, m.handovers, buildInfo, liveCollector{m})
	m.aws = awsapi.NewCallMetrics(reg)
	return m
}

func (m *Metrics) setState(s State) {
	if m == nil {
		return
	}
	for _, st := range allStates {
		v := 0.0
		if st == s {
			v = 1
		}
		m.state.WithLabelValues(string(st)).Set(v)
	}
}

// transition counts a change of state. A primary that repaired drift stays
// primary: that is counted by vipd_drift_repairs_total, not here, so that a
// flapping alert on transitions to primary never fires on repairs.
func (m *Metrics) transition(from, to State, reason string) {
	if m != nil && from != to {
		m.transitions.WithLabelValues(string(from), string(to), reason).Inc()
	}
}

func (m *Metrics) setToken(t uint64) {
	if m != nil {
		m.token.Set(float64(t))
	}
}

func (m *Metrics) acquired(kind string, d time.Duration) {
	if m != nil {
		m.acquire.WithLabelValues(kind).Observe(d.Seconds())
	}
}

func (m *Metrics) repaired(kind string) {
	if m != nil {
		m.repairs.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) contested(kind string) {
	if m != nil {
		m.contests.WithLabelValues(kind).Inc()
	}
}

func (m *Metrics) hookFailed(state string) {
	if m != nil {
		m.hookFailures.WithLabelValues(state).Inc()
	}
}

// ObserveNotice records one read of an instance notice (notice.Config's
// Observe): whether one is present, or that the read failed.
func (m *Metrics) ObserveNotice(kind notice.Kind, present bool, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.noticeErrors.WithLabelValues(string(kind)).Inc()
		return
	}
	v := 0.0
	if present {
		v = 1
	}
	m.notices.WithLabelValues(string(kind)).Set(v)
}

func (m *Metrics) noticeHandover(kind string) {
	if m != nil {
		m.handovers.WithLabelValues(kind).Inc()
	}
}

// ObserveAWS is an awsapi.CallObserver that counts calls, latency and throttles.
func (m *Metrics) ObserveAWS(service, op string, d time.Duration, err error) {
	if m != nil {
		m.aws.Observe(service, op, d, err)
	}
}

// watch makes the scrape-time metrics read lease and health.
func (m *Metrics) watch(lease election.Lease, health Health) {
	if m != nil && lease != nil {
		m.live.Store(&liveSource{lease: lease, health: health})
	}
}

var (
	quorumDesc = prometheus.NewDesc("vipd_quorum",
		"Cluster members this node is in contact with, itself included (count=\"have\"), and how many a quorum needs (count=\"need\").",
		[]string{"count"}, nil)
	peerUpDesc = prometheus.NewDesc("vipd_peer_up",
		"1 while this node hears from the peer (as the election backend sees it), else 0.",
		[]string{"peer"}, nil)
	checkUpDesc = prometheus.NewDesc("vipd_health_check_up",
		"1 while the health check passes (after rise/fall), else 0.",
		[]string{"check"}, nil)
)

// liveCollector serves the metrics read at scrape time.
type liveCollector struct{ m *Metrics }

func (c liveCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- quorumDesc
	ch <- peerUpDesc
	ch <- checkUpDesc
}

func (c liveCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.m.live.Load()
	if src == nil {
		return
	}
	st := src.lease.Status()
	if len(st.Peers) > 0 {
		have := 1 // this node
		for _, p := range st.Peers {
			up := 0.0
			if p.Reachable {
				up = 1
				have++
			}
			ch <- prometheus.MustNewConstMetric(peerUpDesc, prometheus.GaugeValue, up, p.Name)
		}
		need := (len(st.Peers)+1)/2 + 1
		ch <- prometheus.MustNewConstMetric(quorumDesc, prometheus.GaugeValue, float64(have), "have")
		ch <- prometheus.MustNewConstMetric(quorumDesc, prometheus.GaugeValue, float64(need), "need")
	}
	if src.health != nil {
		for _, cs := range src.health.Status() {
			up := 0.0
			if cs.Passing {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(checkUpDesc, prometheus.GaugeValue, up, cs.Name)
		}
	}
}
