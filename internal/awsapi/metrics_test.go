package awsapi

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestCallMetricsCountOutcomesAndThrottles(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewCallMetrics(reg)
	m.Observe("EC2", "ReplaceRoute", 10*time.Millisecond, nil)
	m.Observe("EC2", "ReplaceRoute", 10*time.Millisecond, &smithy.GenericAPIError{Code: CodeRequestLimitExceeded})
	m.Observe("EC2", "ReplaceRoute", 10*time.Millisecond, errors.New("dial tcp: refused"))
	for code, want := range map[string]float64{"ok": 1, CodeRequestLimitExceeded: 1, "transport": 1} {
		if got := counterValue(t, m.calls.WithLabelValues("EC2", "ReplaceRoute", code)); got != want {
			t.Errorf("vipd_aws_calls_total{code=%q} = %v, want %v", code, got, want)
		}
	}
	if got := counterValue(t, m.throttles.WithLabelValues("EC2", "ReplaceRoute")); got != 1 {
		t.Errorf("vipd_aws_throttles_total = %v, want 1", got)
	}
	var nilMetrics *CallMetrics
	nilMetrics.Observe("EC2", "ReplaceRoute", 0, nil) // must not panic
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var pb dto.Metric
	if err := c.Write(&pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetCounter().GetValue()
}
