package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vipd/vipd/internal/cli"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/iampolicy"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// The accounts of the production example: the nodes run in the workload
// account, in subnets of a VPC the network account shares with it, whose
// route tables only the network account's role may change.
const (
	workloadAccount = "444455556666"
	networkAccount  = "111122223333"
	routesRole      = "arn:aws:iam::" + networkAccount + ":role/vipd-orders-db-routes"
	nodeRole        = "arn:aws:iam::" + workloadAccount + ":role/vipd-node"
	nodeA           = "i-0a000000000000001"
)

// productionWorld is the example's AWS side: the shared VPC with two
// tagged tables, the tagged volume in node a's zone and the tagged Elastic
// IP; nodeStmts and routesStmts are the roles' statements and trust the
// network role's trust policy (vpcsim world YAML).
const productionWorld = `
region: eu-west-1
account-id: "` + workloadAccount + `"
vpcs: [{id: vpc-0a000000000000001, cidr: 10.0.0.0/16, owner-id: "` + networkAccount + `"}]
subnets:
  - {id: subnet-0a000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.1.0/24, az: a}
  - {id: subnet-0b000000000000002, vpc: vpc-0a000000000000001, cidr: 10.0.2.0/24, az: b}
route-tables:
  - {id: rtb-0a000000000000001, vpc: vpc-0a000000000000001, subnets: [subnet-0a000000000000001], tags: {vipd-cluster: orders-db}}
  - {id: rtb-0b000000000000002, vpc: vpc-0a000000000000001, subnets: [subnet-0b000000000000002], tags: {vipd-cluster: orders-db}}
  - {id: rtb-0c000000000000003, vpc: vpc-0a000000000000001, main: true}
instances:
  - {id: ` + nodeA + `, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd-node, source-dest-check: false}
  - {id: i-0b000000000000002, subnet: subnet-0b000000000000002, private-ip: 10.0.2.10, role: vipd-node, source-dest-check: false}
volumes:
  - {id: vol-0a000000000000001, az: a, size: 100, tags: {vipd-volume: orders-db-data}}
elastic-ips:
  - {id: eipalloc-0a000000000000001, public-ip: 198.51.100.10, tags: {vipd-eip: orders-db}}
roles:
  - name: vipd-node
    statements:
%s
  - name: vipd-orders-db-routes
    account: "` + networkAccount + `"
    trust: %s
    statements:
%s
`

// productionCheckConfig is examples/production.vipd.yaml with what must
// not leave this host pointed at loopback: the peers at closed loopback
// ports (vipd check dials them), the interface endpoints at endpoint, and
// the local address on lo (the instance's address is not on this host).
// Resources, roles, tags, fence and endpoint settings stay the example's.
func productionCheckConfig(t *testing.T, endpoint string) string {
	t.Helper()
	data, err := os.ReadFile("../../examples/production.vipd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, r := range []struct{ old, new string }{
		{"advertise: 10.0.1.10:7946", "advertise: 127.0.0.1:7946"},
		{"address: 10.0.2.10:7946", "address: " + closedLoopbackPort(t)},
		{"address: 10.0.3.10:7946", "address: " + closedLoopbackPort(t)},
		{"https://vpce-0a1b2c3d4e5f60001-abcd1234.ec2.eu-west-1.vpce.amazonaws.com", endpoint},
		{"https://vpce-0a1b2c3d4e5f60002-abcd1234.sts.eu-west-1.vpce.amazonaws.com", endpoint},
		{"  interface: auto", "  interface: lo"},
	} {
		if strings.Count(text, r.old) != 1 {
			t.Fatalf("examples/production.vipd.yaml no longer has %q once: update this test", r.old)
		}
		text = strings.ReplaceAll(text, r.old, r.new)
	}
	path := filepath.Join(t.TempDir(), "vipd.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	// Never dial the example's 10.0.x peers from this host.
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cfg.Peers {
		ap, err := netip.ParseAddrPort(p.Address)
		if err != nil || !ap.Addr().IsLoopback() {
			t.Fatalf("peer %s at %s is not on loopback", p.Name, p.Address)
		}
	}
	return path
}

// closedLoopbackPort is a loopback address nothing listens on.
func closedLoopbackPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// run runs vipd with args in this process and returns its exit status and
// standard output.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	root := newRootCmd()
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	code := cli.Run(t.Context(), root, args, &stderr)
	return code, stdout.String()
}

// policy runs vipd iam-policy with args and decodes what it prints.
func policy(t *testing.T, args ...string) iampolicy.Policy {
	t.Helper()
	code, out := run(t, append([]string{"iam-policy"}, args...)...)
	if code != 0 {
		t.Fatalf("vipd iam-policy %s: exit status %d", strings.Join(args, " "), code)
	}
	var p iampolicy.Policy
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("vipd iam-policy %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return p
}

// statementsYAML turns policy statements into vpcsim role statements.
func statementsYAML(t *testing.T, sts []iampolicy.Statement) string {
	t.Helper()
	var b strings.Builder
	for _, st := range sts {
		if st.Effect != "Allow" {
			t.Fatalf("statement %s: vpcsim models Allow statements only", st.Sid)
		}
		line, err := json.Marshal(map[string]any{"actions": st.Action, "resources": st.Resource, "condition": st.Condition})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "      - %s\n", line)
	}
	if b.Len() == 0 {
		b.WriteString("      - {actions: [sts:GetCallerIdentity]}\n")
	}
	return b.String()
}

// trustYAML turns a trust policy into vpcsim's trust of a role: its AWS
// principals and the external ID its condition asks for.
func trustYAML(t *testing.T, p iampolicy.Policy) string {
	t.Helper()
	var principals []string
	ext := ""
	for _, st := range p.Statement {
		if st.Effect != "Allow" || !slices.Contains(st.Action, "sts:AssumeRole") {
			t.Fatalf("trust statement %s: want Allow sts:AssumeRole", st.Sid)
		}
		principals = append(principals, st.Principal["AWS"])
		for op, kv := range st.Condition {
			for k, v := range kv {
				if op != "StringEquals" || k != "sts:ExternalId" {
					t.Fatalf("trust statement %s: condition %s %s is not modelled", st.Sid, op, k)
				}
				ext = v
			}
		}
	}
	b, err := json.Marshal(map[string]any{"principals": principals, "external-id": ext})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCheckProvesProductionPolicies: vipd check, on node a of
// examples/production.vipd.yaml, passes against vpcsim with IAM enforced
// when the node's role holds exactly what `vipd iam-policy` prints, the
// network account's role exactly what `vipd iam-policy --role` prints and
// trusts the node's role as `vipd iam-policy --trust` prints; without any
// one statement of the three it fails, naming an action of that statement
// (and the role, for the network role's) or the role it cannot assume.
// Issue 22.
func TestCheckProvesProductionPolicies(t *testing.T) {
	// The policies do not depend on the endpoints.
	path := productionCheckConfig(t, "http://127.0.0.1:1")
	node := policy(t, "--config", path)
	routes := policy(t, "--config", path, "--role", routesRole)
	trust := policy(t, "--config", path, "--trust", "--role", routesRole, "--principal", nodeRole)

	check := func(t *testing.T, node, routes, trust iampolicy.Policy) (int, string) {
		t.Helper()
		world := fmt.Sprintf(productionWorld, statementsYAML(t, node.Statement), trustYAML(t, trust), statementsYAML(t, routes.Statement))
		srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, world))
		t.Setenv("AWS_ENDPOINT_URL", srv.URL())
		t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.IMDSURL(nodeA))
		return run(t, "check", "--config", productionCheckConfig(t, srv.URL()), "--timeout", "2s")
	}
	t.Run("exactly the printed policies", func(t *testing.T) {
		code, out := check(t, node, routes, trust)
		if code != 0 {
			t.Fatalf("vipd check: exit status %d, want 0:\n%s", code, out)
		}
		for _, want := range []string{"✓ assume-role " + routesRole, "✓ permission ec2:ReplaceRoute rtb-0a000000000000001", "✓ permission ec2:AttachVolume vol-0a000000000000001"} {
			if !strings.Contains(out, want) {
				t.Errorf("vipd check output lacks %q:\n%s", want, out)
			}
		}
	})
	without := func(p iampolicy.Policy, i int) iampolicy.Policy {
		p.Statement = slices.Delete(slices.Clone(p.Statement), i, i+1)
		return p
	}
	failed := func(out string) []string {
		var lines []string
		for l := range strings.Lines(out) {
			if strings.HasPrefix(l, "✗ ") {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		return lines
	}
	names := func(lines []string, words ...string) bool {
		return slices.ContainsFunc(lines, func(l string) bool {
			return !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(l, w) })
		})
	}
	// vpcsim evaluates every resource an EC2 action touches (AttachVolume:
	// the volume and the instance), so each statement is missed, even
	// the ones that allow the same actions on other resources.
	for i, st := range node.Statement {
		t.Run("node without "+st.Sid, func(t *testing.T) {
			code, out := check(t, without(node, i), routes, trust)
			lines := failed(out)
			if code != 1 || !slices.ContainsFunc(st.Action, func(a string) bool {
				return names(lines, a) || a == "sts:AssumeRole" && names(lines, "assume-role "+routesRole, "AccessDenied")
			}) {
				t.Errorf("vipd check: exit status %d, want 1 with a ✗ naming an action of %s:\n%s", code, st.Sid, out)
			}
		})
	}
	for i, st := range routes.Statement {
		t.Run("role without "+st.Sid, func(t *testing.T) {
			code, out := check(t, node, without(routes, i), trust)
			lines := failed(out)
			if code != 1 || !slices.ContainsFunc(st.Action, func(a string) bool { return names(lines, a, routesRole) }) {
				t.Errorf("vipd check: exit status %d, want 1 with a ✗ naming %s and an action of %s:\n%s", code, routesRole, st.Sid, out)
			}
		})
	}
	t.Run("role without its trust", func(t *testing.T) {
		code, out := check(t, node, routes, without(trust, 0))
		if code != 1 || !names(failed(out), "assume-role "+routesRole, "AccessDenied", "resources[0].overlay-route") {
			t.Errorf("vipd check: exit status %d, want 1 with a ✗ naming the role, the resource and AccessDenied:\n%s", code, out)
		}
	})
}
