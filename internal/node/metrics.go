package node

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vipd/vipd/internal/awsapi"
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
	aws          *awsapi.CallMetrics
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
	}
	reg.MustRegister(m.state, m.token, m.transitions, m.acquire, m.repairs, m.contests, m.hookFailures)
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

func (m *Metrics) transition(from, to State, reason string) {
	if m != nil {
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

// ObserveAWS is an awsapi.CallObserver that counts calls, latency and throttles.
func (m *Metrics) ObserveAWS(service, op string, d time.Duration, err error) {
	if m != nil {
		m.aws.Observe(service, op, d, err)
	}
}
