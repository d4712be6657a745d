package preflight_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	electionraft "github.com/vipd/vipd/internal/election/raft"
	"github.com/vipd/vipd/internal/preflight"
	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// world has two VPCs; node-a in vpc-a may write routes in vpc-a's tables
// only when its role says so. Each test states the role it needs.
const worldFmt = `
vpcs:
  - {id: vpc-0a000000000000001, cidr: 10.0.0.0/16}
  - {id: vpc-0b000000000000002, cidr: 10.1.0.0/16}
subnets:
  - {id: subnet-0a000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.1.0/24, az: a}
  - {id: subnet-0b000000000000002, vpc: vpc-0b000000000000002, cidr: 10.1.1.0/24, az: b}
route-tables:
  - {id: rtb-0a000000000000001, vpc: vpc-0a000000000000001, subnets: [subnet-0a000000000000001]}
  - {id: rtb-0a000000000000002, vpc: vpc-0a000000000000001, main: true}
  - {id: rtb-0b000000000000002, vpc: vpc-0b000000000000002, main: true}
  - {id: rtb-0b000000000000001, vpc: vpc-0b000000000000002, subnets: [subnet-0b000000000000002]}
roles:
  - name: vipd
    statements:
%s
instances:
  - {id: i-0a000000000000001, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10, role: vipd, source-dest-check: %v}
`

const fullRole = `
      - {actions: [ec2:DescribeRouteTables, ec2:DescribeInstances]}
      - actions: [ec2:CreateRoute, ec2:ReplaceRoute, ec2:DeleteRoute]
        resources: ["arn:aws:ec2:*:*:route-table/rtb-0a*"]
      - actions: [ec2:ModifyInstanceAttribute]
        resources: ["arn:aws:ec2:*:*:instance/i-0a000000000000001"]
      - actions: [dynamodb:DescribeTable, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem]
        resources: ["arn:aws:dynamodb:*:*:table/vipd-leases"]`

const instance = "i-0a000000000000001"

type env struct {
	srv  *vpcsim.Server
	deps preflight.Deps
}

func newEnv(t *testing.T, role string, srcDst bool) env {
	return newEnvWorld(t, worldFmt, role, srcDst)
}

// newEnvWorld is newEnv on another world format with the same instance.
func newEnvWorld(t *testing.T, format, role string, srcDst bool) env {
	testenv.AWS(t)
	srv := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, fmt.Sprintf(format, role, srcDst)))
	imdsURL := srv.IMDSURL(instance)
	return env{srv: srv, deps: preflight.Deps{
		IMDS: awsapi.NewIMDS(imdsURL),
		Connect: func(ctx context.Context, region string) (preflight.AWS, error) {
			// One attempt, throttled or not, as vipd check bounds its
			// own (cmd/vipd/check.go): a preflight reports what it sees.
			c, err := awsapi.Load(ctx, awsapi.Options{Region: region, Endpoint: srv.URL(), IMDSEndpoint: imdsURL, MaxAttempts: 1, ThrottledAttempts: 1})
			if err != nil {
				return preflight.AWS{}, err
			}
			return preflight.AWS{EC2: c.EC2, Credentials: c.Config.Credentials}, nil
		},
		Interfaces: func() ([]preflight.Interface, error) {
			return []preflight.Interface{
				{Name: "lo", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}},
				{Name: "ens5", Addrs: []netip.Addr{netip.MustParseAddr("10.0.1.10")}},
			}, nil
		},
	}}
}

// parse reads body below a head naming node a with peers b and witness w,
// neither of which runs (their ports refuse).
func parse(t *testing.T, body string) *config.Config {
	t.Helper()
	head := fmt.Sprintf("cluster: c\nnode: {name: a, advertise: 127.0.0.1:7946, data-dir: /tmp/x}\n"+
		"peers:\n  - {name: b, address: %q}\n  - {name: w, address: %q, witness: true}\n", closedPort(t), closedPort(t))
	cfg, err := config.Parse([]byte(head+body), "vipd.yaml")
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	return cfg
}

// outcome is a result reduced to what the tests decide on.
type outcome struct {
	Check  string
	Status preflight.Status
}

func outcomes(rs []preflight.Result) []outcome {
	out := make([]outcome, len(rs))
	for i, r := range rs {
		out[i] = outcome{r.Check, r.Status}
	}
	return out
}

// awsOutcomes leaves out the cluster checks, which TestPeers and
// TestClusterTLS cover.
func awsOutcomes(rs []preflight.Result) []outcome {
	var out []outcome
	for _, o := range outcomes(rs) {
		if o.Check == "cluster tls" || o.Check == "peer b" || o.Check == "witness w" {
			continue
		}
		out = append(out, o)
	}
	return out
}

func TestRun(t *testing.T) {
	overlay := func(tables string, extra string) string {
		return "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: " + tables + extra + "}\n" +
			"local-address: {interface: auto, cidr: 192.168.100.10/32}\n"
	}
	named := "[rtb-0a000000000000001, rtb-0a000000000000002]"
	tests := []struct {
		name   string
		role   string
		srcDst bool
		config string
		want   []outcome
	}{
		{
			name: "all allowed", role: fullRole, srcDst: true,
			config: overlay(named, ", disable-source-dest-check: true, delete-on-release: true"),
			want: []outcome{
				{"config", preflight.Pass}, {"imds", preflight.Pass}, {"credentials", preflight.Pass},
				{"route-table rtb-0a000000000000001", preflight.Pass}, {"route-table rtb-0a000000000000002", preflight.Pass},
				{"overlay cidr 192.168.100.10/32", preflight.Pass},
				{"source/dest check", preflight.Pass},
				{"permission ec2:ReplaceRoute rtb-0a000000000000001", preflight.Pass},
				{"permission ec2:CreateRoute rtb-0a000000000000001", preflight.Pass},
				{"permission ec2:DeleteRoute rtb-0a000000000000001", preflight.Pass},
				{"permission ec2:ReplaceRoute rtb-0a000000000000002", preflight.Pass},
				{"permission ec2:CreateRoute rtb-0a000000000000002", preflight.Pass},
				{"permission ec2:DeleteRoute rtb-0a000000000000002", preflight.Pass},
				{"permission ec2:ModifyInstanceAttribute i-0a000000000000001", preflight.Pass},
				{"local interface", preflight.Pass},
			},
		},
		{
			name: "all tables of the VPC", role: fullRole, srcDst: false,
			config: overlay("all", ""),
			want: []outcome{
				{"config", preflight.Pass}, {"imds", preflight.Pass}, {"credentials", preflight.Pass},
				{"route-tables all of vpc-0a000000000000001", preflight.Pass},
				{"overlay cidr 192.168.100.10/32", preflight.Pass},
				{"source/dest check", preflight.Pass},
				{"permission ec2:ReplaceRoute rtb-0a000000000000001", preflight.Pass},
				{"permission ec2:CreateRoute rtb-0a000000000000001", preflight.Pass},
				{"permission ec2:ReplaceRoute rtb-0a000000000000002", preflight.Pass},
				{"permission ec2:CreateRoute rtb-0a000000000000002", preflight.Pass},
				{"local interface", preflight.Pass},
			},
		},
		{
			name: "missing permission",
			role: `
      - {actions: ["ec2:Describe*"]}
      - actions: [ec2:CreateRoute]
        resources: ["arn:aws:ec2:*:*:route-table/*"]`,
			srcDst: true,
			config: overlay("[rtb-0a000000000000001]", ", disable-source-dest-check: true"),
			want: []outcome{
				{"config", preflight.Pass}, {"imds", preflight.Pass}, {"credentials", preflight.Pass},
				{"route-table rtb-0a000000000000001", preflight.Pass},
				{"overlay cidr 192.168.100.10/32", preflight.Pass},
				{"source/dest check", preflight.Pass},
				{"permission ec2:ReplaceRoute rtb-0a000000000000001", preflight.Fail},
				{"permission ec2:CreateRoute rtb-0a000000000000001", preflight.Pass},
				{"permission ec2:ModifyInstanceAttribute i-0a000000000000001", preflight.Fail},
				{"local interface", preflight.Pass},
			},
		},
		{
			name: "no describe permission",
			role: `
      - actions: [ec2:CreateRoute, ec2:ReplaceRoute]`,
			config: overlay("all", ""),
			want: []outcome{
				{"config", preflight.Pass}, {"imds", preflight.Pass}, {"credentials", preflight.Pass},
				{"route-tables all of vpc-0a000000000000001", preflight.Fail},
				{"overlay cidr 192.168.100.10/32", preflight.Warn},
				{"source/dest check", preflight.Fail},
				{"local interface", preflight.Pass},
			},
		},
		{
			name: "table in another VPC and a missing table", role: fullRole,
			config: overlay("[rtb-0a000000000000001, rtb-0b000000000000001, rtb-0deadbeef00000000]", ""),
			want: []outcome{
				{"config", preflight.Pass}, {"imds", preflight.Pass}, {"credentials", preflight.Pass},
				{"route-table rtb-0a000000000000001", preflight.Pass},
				{"route-table rtb-0b000000000000001", preflight.Fail},
				{"route-table rtb-0deadbeef00000000", preflight.Fail},
				{"overlay cidr 192.168.100.10/32", preflight.Pass},
				{"source/dest check", preflight.Pass},
				{"permission ec2:ReplaceRoute rtb-0a000000000000001", preflight.Pass},
				{"permission ec2:CreateRoute rtb-0a000000000000001", preflight.Pass},
				{"local interface", preflight.Pass},
			},
		},
		{
			name: "source/dest check on and left on", role: fullRole, srcDst: true,
			config: "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}\nlocal-address: {interface: eth9, cidr: 192.168.100.10/32}\n",
			want: []outcome{
				{"config", preflight.Pass}, {"imds", preflight.Pass}, {"credentials", preflight.Pass},
				{"route-tables all of vpc-0a000000000000001", preflight.Pass},
				{"overlay cidr 192.168.100.10/32", preflight.Pass},
				{"source/dest check", preflight.Fail},
				{"permission ec2:ReplaceRoute rtb-0a000000000000001", preflight.Pass},
				{"permission ec2:CreateRoute rtb-0a000000000000001", preflight.Pass},
				{"permission ec2:ReplaceRoute rtb-0a000000000000002", preflight.Pass},
				{"permission ec2:CreateRoute rtb-0a000000000000002", preflight.Pass},
				{"local interface", preflight.Fail},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.role, tt.srcDst)
			rs := preflight.Run(t.Context(), parse(t, tt.config), e.deps)
			if diff := cmp.Diff(tt.want, awsOutcomes(rs)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s\n%s", diff, written(t, rs))
			}
			wantBlocking := false
			for _, o := range tt.want {
				wantBlocking = wantBlocking || o.Status == preflight.Fail
			}
			if got := preflight.Blocking(rs); got != wantBlocking {
				t.Errorf("Blocking = %v, want %v", got, wantBlocking)
			}
		})
	}
}

// TestMessages pins what an operator reads for the failures the checks are
// for: the missing action named, the other VPC named, the fix given.
func TestMessages(t *testing.T) {
	e := newEnv(t, `
      - {actions: ["ec2:Describe*"]}
      - actions: [ec2:CreateRoute]`, true)
	cfg := parse(t, "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: [rtb-0a000000000000001, rtb-0b000000000000001]}\nlocal-address: {interface: none}\n")
	out := written(t, preflight.Run(t.Context(), cfg, e.deps))
	for _, want := range []string{
		"✓ imds: IMDSv2: instance i-0a000000000000001 in us-east-1a (us-east-1), vpc-0a000000000000001",
		"✓ credentials: found, from the instance profile (EC2RoleProvider), and accepted by EC2",
		"✗ route-table rtb-0b000000000000001: is in vpc-0b000000000000002, but this instance is in vpc-0a000000000000001",
		"✗ permission ec2:ReplaceRoute rtb-0a000000000000001: missing: the instance's role does not allow ec2:ReplaceRoute on rtb-0a000000000000001",
		"    fix: add ec2:ReplaceRoute on arn:aws:ec2:us-east-1:*:route-table/rtb-0a000000000000001 to the instance's role (see `vipd iam-policy`)",
		"✗ source/dest check: on for i-0a000000000000001",
		"- local interface: no local address to bind",
		"refused the connection: vipd is not running there\n    fix: start vipd on w (systemctl start vipd-witness)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestCredentialsRejected: credentials that a provider hands out but AWS
// refuses (an unknown key, a wrong secret) fail the credentials check with
// what to do about them, and the resource checks are not run to blame the
// network for it (issue 20). EC2 answers both with AuthFailure ("Error
// codes for the Amazon EC2 API", common client errors); vpcsim checks
// SigV4 signatures as EC2 does.
func TestCredentialsRejected(t *testing.T) {
	cfg := "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}\nlocal-address: {interface: none}\n"
	tests := []struct {
		name string
		env  func(srv *vpcsim.Server) []string
	}{
		{"an unknown access key", func(*vpcsim.Server) []string {
			return []string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
		}},
		{"a known key with the wrong secret", func(srv *vpcsim.Server) []string {
			ak, _ := srv.AdminKey()
			return []string{"AWS_ACCESS_KEY_ID=" + ak, "AWS_SECRET_ACCESS_KEY=not-the-secret"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fullRole, false)
			for _, kv := range tt.env(e.srv) {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
			rs := preflight.Run(t.Context(), parse(t, cfg), e.deps)
			want := []outcome{{"config", preflight.Pass}, {"imds", preflight.Pass}, {"credentials", preflight.Fail},
				{"resources", preflight.Fail}, {"local interface", preflight.Skip}}
			if diff := cmp.Diff(want, awsOutcomes(rs)); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s\n%s", diff, written(t, rs))
			}
			out := written(t, rs)
			for _, w := range []string{
				"✗ credentials: rejected by AWS (AuthFailure): the credentials from the environment (AWS_ACCESS_KEY_ID; EnvConfigCredentials) do not authenticate",
				"    fix: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in vipd's environment are wrong",
			} {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, bad := range []string{"✓ credentials", "network path"} {
				if strings.Contains(out, bad) {
					t.Errorf("output says %q for rejected credentials:\n%s", bad, out)
				}
			}
		})
	}
}

// TestCredentialsNotVerified: EC2 throttling the verifying call is said
// as such, not as rejected credentials nor as the network.
func TestCredentialsNotVerified(t *testing.T) {
	e := newEnv(t, fullRole, false)
	if _, err := e.srv.InjectFault(vpcsim.Fault{Action: "DescribeInstances", Kind: vpcsim.FaultError,
		Code: "RequestLimitExceeded", Status: 503, Message: "Request limit exceeded.", Count: 5}); err != nil {
		t.Fatal(err)
	}
	rs := preflight.Run(t.Context(), parse(t, "local-address: {interface: none}\n"), e.deps)
	out := written(t, rs)
	want := "✗ credentials: found, from the instance profile (EC2RoleProvider), but EC2 answered the verifying DryRun call with RequestLimitExceeded"
	if !strings.Contains(out, want) || strings.Contains(out, "network path") {
		t.Errorf("output lacks %q (or blames the network):\n%s", want, out)
	}
}

// TestOverlayInsideVPC: an overlay address inside the VPC's CIDR fails
// the check, since AWS accepts a route more specific than the local route
// only when it matches the entire CIDR block of a subnet (Amazon VPC User
// Guide, "Subnet route tables", rules and considerations; "more specific
// routing", August 2021), and DryRun, which checks permission only, would
// not show it (issue 21). A whole subnet's block is accepted by AWS and
// warned about.
func TestOverlayInsideVPC(t *testing.T) {
	role := fullRole + `
      - {actions: [ec2:DescribeSubnets]}`
	tests := []struct {
		cidr   string
		status preflight.Status
		detail string
	}{
		{"10.0.1.50/32", preflight.Fail, "inside vpc-0a000000000000001's CIDR block 10.0.0.0/16: AWS refuses a route more specific than the local route unless it is a whole subnet's CIDR block"},
		{"10.0.9.0/24", preflight.Fail, "inside vpc-0a000000000000001's CIDR block 10.0.0.0/16"},
		{"10.0.1.0/24", preflight.Warn, "exactly subnet subnet-0a000000000000001's CIDR block, which AWS accepts"},
		{"10.1.1.10/32", preflight.Pass, "outside the VPC's CIDR blocks (10.0.0.0/16)"},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			e := newEnv(t, role, false)
			cfg := parse(t, "resources:\n  - overlay-route: {cidr: "+tt.cidr+", route-tables: all}\nlocal-address: {interface: none}\n")
			rs := preflight.Run(t.Context(), cfg, e.deps)
			var got *preflight.Result
			for i := range rs {
				if rs[i].Check == "overlay cidr "+tt.cidr {
					got = &rs[i]
				}
			}
			if got == nil || got.Status != tt.status || !strings.Contains(got.Detail, tt.detail) {
				t.Fatalf("want overlay cidr %s: %v, %q; got:\n%s", tt.cidr, tt.status, tt.detail, written(t, rs))
			}
			if tt.status != preflight.Pass && !strings.Contains(got.Fix, "pick an address outside every CIDR block of vpc-0a000000000000001") {
				t.Errorf("fix %q does not say to pick an address outside the VPC", got.Fix)
			}
			if got := preflight.Blocking(rs); got != (tt.status == preflight.Fail) {
				t.Errorf("Blocking = %v for %s", got, tt.status)
			}
		})
	}
}

func TestIMDSDown(t *testing.T) {
	e := newEnv(t, fullRole, false)
	if err := e.srv.SetIMDS(instance, false); err != nil {
		t.Fatal(err)
	}
	e.deps.Timeout = 500 * time.Millisecond
	cfg := parse(t, "resources:\n  - overlay-route: {cidr: 192.168.100.10/32, route-tables: all}\nlocal-address: {interface: auto, cidr: 192.168.100.10/32}\n")
	rs := preflight.Run(t.Context(), cfg, e.deps)
	want := []outcome{{"config", preflight.Pass}, {"imds", preflight.Fail}, {"credentials", preflight.Fail}, {"local interface", preflight.Fail}}
	if diff := cmp.Diff(want, awsOutcomes(rs)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s\n%s", diff, written(t, rs))
	}
}

// TestPeers checks a witness: no AWS at all; a vipd member passes, a
// refusing port warns (vipd not started there yet), and a port where
// something else listens fails: the check is the cluster's own handshake,
// not a TCP connect (issue 20).
func TestPeers(t *testing.T) {
	w := electionraft.Peer{Name: "w", Address: "127.0.0.1:7946", Witness: true}
	a := member(t, "a", tcp{}, []electionraft.Peer{w})
	closed := closedPort(t)
	other := listen(t) // accepts, never answers
	cfg, err := config.Parse([]byte(fmt.Sprintf(`cluster: c
node: {name: w, advertise: 127.0.0.1:7946, witness: true, data-dir: /tmp/x}
peers:
  - {name: a, address: %q}
  - {name: b, address: %q}
  - {name: c, address: %q}
`, a, closed, other)), "w.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rs := preflight.Run(t.Context(), cfg, preflight.Deps{Timeout: 6 * time.Second})
	want := []outcome{{"config", preflight.Pass}, {"cluster tls", preflight.Warn},
		{"peer a", preflight.Pass}, {"peer b", preflight.Warn}, {"peer c", preflight.Fail}}
	if diff := cmp.Diff(want, outcomes(rs)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s\n%s", diff, written(t, rs))
	}
	out := written(t, rs)
	for _, w := range []string{
		"✓ peer a: " + a + " answered as a vipd member",
		"! peer b: " + closed + " refused the connection: vipd is not running there\n    fix: start vipd on b (systemctl start vipd)",
		"✗ peer c: " + other + " accepted the connection but did not answer as a vipd member",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func written(t *testing.T, rs []preflight.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := preflight.Write(&b, rs); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// listen opens a listener on loopback for the test and returns its address.
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}
