package preflight_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/preflight"
	"github.com/vipd/vipd/internal/resource/kinds"
)

// roleYAML turns policy statements into the statements of vpcsim's role
// model (actions and resource ARN patterns; conditions are not modelled, so
// the policy under test has none).
func roleYAML(t *testing.T, sts []iampolicy.Statement) string {
	t.Helper()
	var b strings.Builder
	for _, st := range sts {
		if st.Effect != "Allow" || st.Condition != nil {
			t.Fatalf("statement %s: vpcsim models Allow statements without conditions", st.Sid)
		}
		a, err := json.Marshal(st.Action)
		if err != nil {
			t.Fatal(err)
		}
		r, err := json.Marshal(st.Resource)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "      - {actions: %s, resources: %s}\n", a, r)
	}
	if b.Len() == 0 {
		// A role with no statements allows nothing.
		b.WriteString("      - {actions: [sts:GetCallerIdentity]}\n")
	}
	return b.String()
}

// TestGeneratedPolicy feeds the policy `vipd iam-policy` prints to a vpcsim
// role: vipd check passes with exactly those statements and fails when any
// one of them is removed, so the policy is both sufficient and minimal at
// the statement level.
func TestGeneratedPolicy(t *testing.T) {
	body := "resources:\n" +
		"  - overlay-route: {cidr: 192.168.100.10/32, route-tables: [rtb-0a000000000000001], disable-source-dest-check: true, delete-on-release: true}\n" +
		"  - overlay-route: {cidr: 192.168.101.0/24, route-tables: [rtb-0a000000000000001, rtb-0a000000000000002]}\n" +
		"local-address: {interface: none}\n"
	cfg := parse(t, body)
	p, err := iampolicy.For(cfg, iampolicy.Options{Region: "us-east-1", Account: "123456789012", Instances: []string{instance, "i-0b000000000000002"}}, kinds.Registry())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Statement) != 4 {
		t.Fatalf("policy has %d statements, want 4 (describe, write, delete, source/dest)", len(p.Statement))
	}
	t.Run("complete", func(t *testing.T) {
		e := newEnv(t, roleYAML(t, p.Statement), true)
		rs := preflight.Run(t.Context(), cfg, e.deps)
		if preflight.Blocking(rs) {
			t.Errorf("vipd check fails with the generated policy:\n%s", written(t, rs))
		}
	})
	for i, st := range p.Statement {
		t.Run("without "+st.Sid, func(t *testing.T) {
			e := newEnv(t, roleYAML(t, slices.Delete(slices.Clone(p.Statement), i, i+1)), true)
			rs := preflight.Run(t.Context(), cfg, e.deps)
			if !preflight.Blocking(rs) {
				t.Errorf("vipd check passes without statement %s:\n%s", st.Sid, written(t, rs))
			}
			// The failure names one of the removed statement's actions.
			out := written(t, rs)
			if !slices.ContainsFunc(st.Action, func(a string) bool { return strings.Contains(out, "✗ ") && strings.Contains(out, a) }) {
				t.Errorf("no failure names an action of %s:\n%s", st.Sid, out)
			}
		})
	}
}
