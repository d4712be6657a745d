package controller

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/election"
)

// Metrics are the controller's Prometheus metrics; the AWS call metrics
// have the agents' names, so one dashboard serves both. Labels are bounded:
// reasons, kinds, states, AWS operations and codes, and the configured
// candidates' instance ids.
type Metrics struct {
	active      prometheus.Gauge
	token       prometheus.Gauge
	moves       *prometheus.CounterVec
	moveTime    prometheus.Histogram
	acquire     *prometheus.HistogramVec
	healthy     *prometheus.GaugeVec
	hookFailure *prometheus.CounterVec
	aws         *awsapi.CallMetrics
}

// NewMetrics registers the controller's metrics, and the AWS call
// metrics, with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	return newMetrics(reg, awsapi.NewCallMetrics(reg))
}

// newMetrics registers the controller's metrics with reg and counts AWS
// calls in calls (a fleet's clusters share clients and their metrics).
func newMetrics(reg prometheus.Registerer, calls *awsapi.CallMetrics) *Metrics {
	m := &Metrics{
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vipd_controller_active", Help: "1 while this controller holds the lease and acts.",
		}),
		token: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vipd_lease_token", Help: "Fencing token of the newest grant this controller knows.",
		}),
		moves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_controller_moves_total", Help: "Owner moves by reason and outcome (ok, failed).",
		}, []string{"reason", "outcome"}),
		moveTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vipd_controller_move_duration_seconds", Help: "Time to move every resource and record the owner.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		acquire: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vipd_acquire_duration_seconds", Help: "Time to acquire one resource, read-back included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vipd_controller_candidate_healthy", Help: "1 while a candidate runs and passes every check.",
		}, []string{"instance_id"}),
		hookFailure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_hook_failures_total", Help: "Notify scripts that failed or timed out, by state.",
		}, []string{"state"}),
	}
	reg.MustRegister(m.active, m.token, m.moves, m.moveTime, m.acquire, m.healthy, m.hookFailure)
	m.aws = calls
	return m
}

func (m *Metrics) lease(st election.Status) {
	if m == nil {
		return
	}
	v := 0.0
	if st.Held {
		v = 1
	}
	m.active.Set(v)
	m.token.Set(float64(st.Token))
}

func (m *Metrics) move(reason string, d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "failed"
	}
	m.moves.WithLabelValues(reason, outcome).Inc()
	if err == nil {
		m.moveTime.Observe(d.Seconds())
	}
}

func (m *Metrics) acquired(kind string, d time.Duration) {
	if m != nil {
		m.acquire.WithLabelValues(kind).Observe(d.Seconds())
	}
}

func (m *Metrics) candidates(cs []*candidate) {
	if m == nil {
		return
	}
	for _, cd := range cs {
		v := 0.0
		if cd.healthy() {
			v = 1
		}
		m.healthy.WithLabelValues(cd.id).Set(v)
	}
}

func (m *Metrics) hookFailed(state string) {
	if m != nil {
		m.hookFailure.WithLabelValues(state).Inc()
	}
}

// ObserveAWS is an awsapi.CallObserver that counts calls, latency and
// throttles.
func (m *Metrics) ObserveAWS(service, op string, d time.Duration, err error) {
	if m != nil {
		m.aws.Observe(service, op, d, err)
	}
}
