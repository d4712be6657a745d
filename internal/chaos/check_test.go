package chaos

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/vpcsim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestGenerateIsReproducible(t *testing.T) {
	a, b := Generate(42, 20*time.Second), Generate(42, 20*time.Second)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same seed, different schedules (-first +second):\n%s", diff)
	}
	if c := Generate(43, 20*time.Second); cmp.Equal(a, c) {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
	if len(a.Steps) < 5 {
		t.Fatalf("a 20s schedule has %d steps, want several", len(a.Steps))
	}
	for _, st := range a.Steps {
		if st.At >= 20*time.Second || st.For <= 0 {
			t.Errorf("step %v outside the schedule", st)
		}
		if st.Kind == KindPartition && (st.Target == st.Peer || st.Peer == "") {
			t.Errorf("partition %v needs two different members", st)
		}
	}
	// Over many seeds every kind is drawn.
	seen := map[Kind]bool{}
	for seed := range uint64(50) {
		for _, st := range Generate(seed, 10*time.Second).Steps {
			seen[st.Kind] = true
		}
	}
	for _, k := range Kinds {
		if !seen[k] {
			t.Errorf("kind %s never drawn in 50 schedules", k)
		}
	}
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// history builds a converged history from lease log lines.
func history(logs ...LogEvent) *History {
	return &History{Start: t0, FaultsEnd: at(9000), End: at(10000), ConvergedAt: at(9500), Holder: "a",
		Logs: logs, Exits: map[string][]Exit{}}
}

func rules(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Rule)
	}
	return out
}

func TestCheck(t *testing.T) {
	granted := func(ms int, node string, tok uint64) LogEvent {
		return LogEvent{At: at(ms), Node: node, Msg: "lease granted", Token: tok}
	}
	lost := func(ms int, node string, tok uint64) LogEvent {
		return LogEvent{At: at(ms), Node: node, Msg: "lease lost", Token: tok}
	}
	write := func(seq uint64, tok uint64) vpcsim.Call {
		return vpcsim.Call{Seq: seq, Time: at(int(seq) * 10), Caller: "i-x", Action: "ReplaceRoute", Status: 200, Token: tok}
	}
	tests := []struct {
		name string
		h    *History
		want []string
	}{
		{"clean handover", history(granted(100, "a", 3), lost(2000, "a", 3), granted(2500, "b", 7)), nil},
		{"overlapping holds", history(granted(100, "a", 3), lost(3000, "a", 3), granted(2500, "b", 7)), []string{"two-holders"}},
		{"overlap within the drift bound", history(granted(100, "a", 3), lost(2510, "a", 3), granted(2500, "b", 7)), nil},
		{"a kill ends a hold", func() *History {
			h := history(granted(100, "a", 3), granted(2500, "b", 7))
			h.Exits["a"] = []Exit{{At: at(2000), Killed: true}}
			return h
		}(), nil},
		{"a hold not ended runs to the end", history(granted(100, "a", 3), granted(2500, "b", 7)), []string{"two-holders"}},
		{"token goes backwards", history(granted(100, "a", 7), lost(2000, "a", 7), granted(2500, "b", 3)), []string{"token-order"}},
		{"stale write", func() *History {
			h := history(granted(100, "a", 3))
			h.Calls = []vpcsim.Call{write(1, 3), write(2, 7), write(3, 3)}
			return h
		}(), []string{"stale-write"}},
		{"failed stale write is fine", func() *History {
			h := history(granted(100, "a", 3))
			c := write(3, 3)
			c.Status, c.Code = 503, "RequestLimitExceeded"
			h.Calls = []vpcsim.Call{write(1, 3), write(2, 7), c}
			return h
		}(), nil},
		{"admin writes carry no token", func() *History {
			h := history(granted(100, "a", 3))
			h.Calls = []vpcsim.Call{write(1, 7), write(2, 0)}
			return h
		}(), nil},
		{"crash", func() *History {
			h := history(granted(100, "a", 3))
			h.Exits["b"] = []Exit{{At: at(500), Err: "exit status 2"}}
			return h
		}(), []string{"crash"}},
		{"no convergence", func() *History {
			h := history(granted(100, "a", 3))
			h.ConvergedAt = time.Time{}
			return h
		}(), []string{"no-convergence"}},
		{"slow convergence", func() *History {
			h := history(granted(100, "a", 3))
			h.ConvergedAt = at(10500)
			return h
		}(), []string{"slow-convergence"}},
		{"a reported hold the log does not show", func() *History {
			h := history(granted(100, "a", 3), lost(1000, "a", 3))
			h.Polls = []Poll{{Node: "a", Req: at(500), Resp: at(502), OK: true, Held: true, Token: 3},
				{Node: "a", Req: at(1500), Resp: at(1502), OK: true, Held: true, Token: 3}}
			return h
		}(), []string{"unlogged-hold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := Check(tt.h, time.Second)
			if diff := cmp.Diff(tt.want, rules(vs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s\n%v", diff, vs)
			}
		})
	}
}

func TestTimelineNamesEverything(t *testing.T) {
	h := history(LogEvent{At: at(100), Node: "a", Msg: "lease granted", Token: 3})
	h.Calls = []vpcsim.Call{{Seq: 1, Time: at(150), Caller: "i-a", Action: "ReplaceRoute", Status: 200, Token: 3}}
	h.Faults = []FaultEvent{{At: at(50), Step: Step{Kind: KindPartition, Target: "a", Peer: "b", For: time.Second}, On: true}}
	h.Reaches = []Reach{{At: at(200), Node: "a"}, {At: at(300), Node: "a"}, {At: at(400), Err: "timeout"}}
	vs := []Violation{{At: at(450), Rule: "two-holders", Detail: "x"}}
	got := strings.Split(strings.TrimSpace(Timeline(h, vs, map[string]string{"i-a": "a"})), "\n")
	want := []string{
		"partition a|b for 1s on",
		"lease granted token=3",
		"ReplaceRoute by a token=3 ok",
		"reaches a",
		"reaches unreachable",
		"two-holders: x",
		"converged on a",
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(l string) bool { return strings.HasSuffix(l, w) }) {
			t.Errorf("timeline lacks %q:\n%s", w, strings.Join(got, "\n"))
		}
	}
}
