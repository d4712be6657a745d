package node

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/resource"
)

// checksHealth is fakeHealth with named checks in its status.
type checksHealth struct {
	*fakeHealth
	checks []health.CheckStatus
}

func (h checksHealth) Status() []health.CheckStatus { return h.checks }

// gauge returns the value of the series of name whose labels include
// want, and whether there is one.
func gauge(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, want) {
				if mf.GetType() == dto.MetricType_COUNTER {
					return m.GetCounter().GetValue(), true
				}
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, lp := range m.GetLabel() {
		got[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// The metrics an operator alerts on: build, quorum have/need, each peer and
// health check up or down, read fresh at every scrape.
func TestMetricsShowBuildQuorumPeersAndChecks(t *testing.T) {
	reg := prometheus.NewRegistry()
	lease := newFakeLease()
	lease.st.Peers = []election.Peer{{Name: "b", Reachable: true}, {Name: "w", Witness: true}}
	h := checksHealth{&fakeHealth{ok: true, changes: make(chan struct{}, 1)},
		[]health.CheckStatus{{Name: "pg", Passing: true}, {Name: "disk", Passing: false}}}
	New(Config{Self: resource.Self{Name: "a"}}, Deps{Lease: lease, Health: h, Metrics: NewMetrics(reg)})

	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"vipd_build_info", map[string]string{}, 1},
		{"vipd_quorum", map[string]string{"count": "have"}, 2},
		{"vipd_quorum", map[string]string{"count": "need"}, 2},
		{"vipd_peer_up", map[string]string{"peer": "b"}, 1},
		{"vipd_peer_up", map[string]string{"peer": "w"}, 0},
		{"vipd_health_check_up", map[string]string{"check": "pg"}, 1},
		{"vipd_health_check_up", map[string]string{"check": "disk"}, 0},
	} {
		got, ok := gauge(t, reg, tt.name, tt.labels)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}

	// The witness comes back: the next scrape says so.
	lease.mu.Lock()
	lease.st.Peers[1].Reachable = true
	lease.mu.Unlock()
	if got, _ := gauge(t, reg, "vipd_quorum", map[string]string{"count": "have"}); got != 3 {
		t.Errorf("vipd_quorum{count=have} after the witness returned = %v, want 3", got)
	}
	if got, _ := gauge(t, reg, "vipd_peer_up", map[string]string{"peer": "w"}); got != 1 {
		t.Errorf("vipd_peer_up{peer=w} after it returned = %v, want 1", got)
	}
}

// A drift repair keeps the node primary: it is not a transition to count
// as a flap, and "primary since" stays when the node became primary.
func TestDriftRepairIsNotAFlapAndKeepsPrimarySince(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := &harness{t: t, lease: newFakeLease(), health: &fakeHealth{ok: true, changes: make(chan struct{}, 1)}, log: &callLog{}}
	r := &fakeResource{name: "route", log: h.log}
	h.res = []*fakeResource{r}
	h.n = New(Config{Self: resource.Self{Name: "a"}, ReconcileInterval: 20 * time.Millisecond},
		Deps{Lease: h.lease, Health: h.health, Metrics: NewMetrics(reg),
			Plan: resource.NewPlan([]resource.Planned{{Resource: r}}, resource.PlanOptions{})})
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- h.n.Run(ctx) }()
	t.Cleanup(func() { h.stop() })

	h.lease.grant(3)
	h.waitRole(StatePrimary)
	before, err := h.n.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r.set(nil, true)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := h.n.Status(t.Context())
		if err == nil && st.Counters["drift_repairs"] > 0 {
			r.set(nil, false)
			if !st.Since.Equal(before.Since) {
				t.Errorf("primary since = %v after a drift repair, want %v (unchanged)", st.Since, before.Since)
			}
			last := st.Transitions[len(st.Transitions)-1]
			if last.From != "primary" || last.To != "primary" || last.Reason != "drift repaired" {
				t.Errorf("last transition = %+v, want the repair recorded in the history", last)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("drift was not repaired within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, _ := gauge(t, reg, "vipd_drift_repairs_total", map[string]string{}); got < 1 {
		t.Errorf("vipd_drift_repairs_total = %v, want at least 1", got)
	}
	if got, ok := gauge(t, reg, "vipd_transitions_total", map[string]string{"from": "primary", "to": "primary"}); ok {
		t.Errorf("vipd_transitions_total{from=primary,to=primary} = %v, want no such series", got)
	}
	if got, _ := gauge(t, reg, "vipd_transitions_total", map[string]string{"to": "primary"}); got != 1 {
		t.Errorf("vipd_transitions_total{to=primary} = %v, want 1 (the acquire only)", got)
	}
}

// recorder is a Registerer that keeps the collectors registered with it.
type recorder struct{ cs []prometheus.Collector }

func (r *recorder) Register(c prometheus.Collector) error   { r.cs = append(r.cs, c); return nil }
func (r *recorder) MustRegister(cs ...prometheus.Collector) { r.cs = append(r.cs, cs...) }
func (r *recorder) Unregister(prometheus.Collector) bool    { return false }

// docs/metrics.md (tables and alerts) and the Grafana dashboard name only
// metrics that vipd serves, and the reference lists every one of them.
func TestMetricsDocsAndDashboardMatchTheCode(t *testing.T) {
	rec := &recorder{}
	NewMetrics(rec)
	served := map[string]bool{}
	nameRE := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for _, c := range rec.cs {
		ch := make(chan *prometheus.Desc, 16)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			if m := nameRE.FindStringSubmatch(d.String()); m != nil {
				served[m[1]] = true
			}
		}
	}
	used := regexp.MustCompile(`\bvipd_[a-z_]+`)
	suffix := regexp.MustCompile(`_(bucket|sum|count)$`)
	for _, file := range []string{"../../docs/metrics.md", "../../deploy/grafana-dashboard.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		named := map[string]bool{}
		for _, n := range used.FindAllString(string(b), -1) {
			if !served[n] && !served[suffix.ReplaceAllString(n, "")] {
				t.Errorf("%s names %s, which vipd does not serve", file, n)
			}
			named[n] = true
		}
		if file == "../../docs/metrics.md" {
			for n := range served {
				if strings.HasPrefix(n, "vipd_") && !named[n] {
					t.Errorf("%s does not document %s", file, n)
				}
			}
		}
	}
}
