package awsapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CallMetrics counts AWS calls for Prometheus: calls by service, operation
// and outcome code, their latency, and the calls that ended throttled. The
// node and the controller both register one; its Observe is a CallObserver.
type CallMetrics struct {
	calls     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	throttles *prometheus.CounterVec
}

// NewCallMetrics registers the AWS call metrics with reg.
func NewCallMetrics(reg prometheus.Registerer) *CallMetrics {
	m := &CallMetrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_aws_calls_total", Help: "AWS API calls by service, operation and outcome code (ok when none).",
		}, []string{"service", "op", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vipd_aws_call_duration_seconds", Help: "AWS API call latency, retries included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"service", "op"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vipd_aws_throttles_total", Help: "AWS calls that ended throttled after retries.",
		}, []string{"service", "op"}),
	}
	reg.MustRegister(m.calls, m.duration, m.throttles)
	return m
}

// Observe is a CallObserver. A nil CallMetrics observes nothing.
func (m *CallMetrics) Observe(service, op string, d time.Duration, err error) {
	if m == nil {
		return
	}
	code := "ok"
	if err != nil {
		code = Code(err)
		if code == "" {
			code = "transport"
		}
	}
	m.calls.WithLabelValues(service, op, code).Inc()
	m.duration.WithLabelValues(service, op).Observe(d.Seconds())
	if code == CodeRequestLimitExceeded || code == "Throttling" {
		m.throttles.WithLabelValues(service, op).Inc()
	}
}
