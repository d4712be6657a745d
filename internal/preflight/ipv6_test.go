package preflight_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/preflight"
	"github.com/vipd/vipd/internal/resource/kinds"
)

// world6Fmt is worldFmt with IPv6 in vpc-a: its /56, subnet-a's /64 and
// an IPv6 address on the instance.
var world6Fmt = strings.NewReplacer(
	"{id: vpc-0a000000000000001, cidr: 10.0.0.0/16}", `{id: vpc-0a000000000000001, cidr: 10.0.0.0/16, ipv6-cidr: "2001:db8:a::/56"}`,
	"cidr: 10.0.1.0/24, az: a}", `cidr: 10.0.1.0/24, az: a, ipv6-cidr: "2001:db8:a:1::/64"}`,
	"private-ip: 10.0.1.10, role: vipd,", `private-ip: 10.0.1.10, ipv6-addresses: ["2001:db8:a:1::10"], role: vipd,`,
).Replace(worldFmt)

// TestIPv6 runs vipd check on an IPv6 node: with the policy `vipd
// iam-policy` prints for an IPv6 overlay route it passes, proving
// CreateRoute and ReplaceRoute with an IPv6 destination by DryRun, and
// fails without any one statement; an overlay block inside the VPC's
// /56 fails, and so does a secondary IPv6 address outside the subnet's
// /64.
func TestIPv6(t *testing.T) {
	body := "resources:\n" +
		"  - overlay-route: {cidr: 'fd00:ec2::10/128', route-tables: all, disable-source-dest-check: true}\n" +
		"local-address: {interface: none}\n"
	cfg := parse(t, body)
	p, err := iampolicy.For(cfg, iampolicy.Options{Region: "us-east-1", Account: "123456789012", Instances: []string{instance}}, kinds.Registry())
	if err != nil {
		t.Fatal(err)
	}
	env6 := func(t *testing.T, role string) env { return newEnvWorld(t, world6Fmt, role, true) }
	t.Run("generated policy", func(t *testing.T) {
		e := env6(t, roleYAML(t, p.Statement))
		rs := preflight.Run(t.Context(), cfg, e.deps)
		out := written(t, rs)
		if preflight.Blocking(rs) {
			t.Fatalf("vipd check fails with the generated policy:\n%s", out)
		}
		if !strings.Contains(out, "overlay cidr fd00:ec2::10/128") || !strings.Contains(out, "2001:db8:a::/56") {
			t.Errorf("the overlay check does not compare with the VPC's IPv6 block:\n%s", out)
		}
	})
	for i, st := range p.Statement {
		t.Run("without "+st.Sid, func(t *testing.T) {
			e := env6(t, roleYAML(t, slices.Delete(slices.Clone(p.Statement), i, i+1)))
			if rs := preflight.Run(t.Context(), cfg, e.deps); !preflight.Blocking(rs) {
				t.Errorf("vipd check passes without statement %s:\n%s", st.Sid, written(t, rs))
			}
		})
	}
	t.Run("inside the VPC's block", func(t *testing.T) {
		e := env6(t, roleYAML(t, p.Statement))
		rs := preflight.Run(t.Context(), parse(t, "resources:\n  - overlay-route: {cidr: '2001:db8:a:9::10/128', route-tables: all, disable-source-dest-check: true}\nlocal-address: {interface: none}\n"), e.deps)
		if out := written(t, rs); !preflight.Blocking(rs) || !strings.Contains(out, "✗ overlay cidr 2001:db8:a:9::10/128") {
			t.Errorf("an overlay block inside the VPC's /56 passes:\n%s", out)
		}
	})
	t.Run("secondary IPv6 address", func(t *testing.T) {
		e := env6(t, roleYAML(t, p.Statement))
		for addr, ok := range map[string]bool{"2001:db8:a:1::100": true, "2001:db8:a:2::100": false} {
			rs := preflight.Run(t.Context(), parse(t, "resources:\n  - secondary-ip: {addresses: ['"+addr+"']}\nlocal-address: {interface: none}\n"), e.deps)
			out := written(t, rs)
			if failed := strings.Contains(out, "✗ secondary-ip "+addr); failed == ok {
				t.Errorf("secondary-ip %s: failed %v, want %v:\n%s", addr, failed, !ok, out)
			}
		}
	})
}
