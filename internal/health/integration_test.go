package health

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// TestMonitorFollowsRealService runs a Monitor with a real TCP check against
// a loopback listener: it rises while the listener is up and falls once it
// is closed, hinting each change.
func TestMonitorFollowsRealService(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	m, err := NewMonitor([]config.Check{{
		Name: "svc", TCP: l.Addr().String(),
		Interval: 50 * time.Millisecond, Timeout: 50 * time.Millisecond, Rise: 2, Fall: 2,
	}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	}()

	waitHealthy(t, m, true)
	l.Close()
	waitHealthy(t, m, false)
	if st := m.Status()[0]; st.Failures < 2 || st.LastError == "" {
		t.Errorf("Status() = %+v, want at least 2 failures and the error", st)
	}
}

// waitHealthy waits, on Changes, until Healthy() is want.
func waitHealthy(t *testing.T, m *Monitor, want bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for m.Healthy() != want {
		select {
		case <-m.Changes():
		case <-deadline:
			t.Fatalf("Healthy() stayed %v for 10s; status %+v", !want, m.Status())
		}
	}
}
