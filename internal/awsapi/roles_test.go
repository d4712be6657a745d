package awsapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/testenv"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// crossAccountWorld: the VPC belongs to account 222222222222 and is shared
// with 111111111111, where the instance runs; the owner's role vipd-routes
// trusts the instance's role, with an external ID, and its sessions last
// 2 s, less than RoleRefreshWindow, so every call renews them.
const crossAccountWorld = `
account-id: "111111111111"
vpcs: [{name: shared, cidr: 10.0.0.0/16, owner-id: "222222222222"}]
subnets: [{name: a, vpc: shared, cidr: 10.0.1.0/24, az: a}]
route-tables: [{name: owners, vpc: shared}]
instances: [{name: node1, subnet: a, role: vipd-node}]
roles:
  - name: vipd-node
    statements:
      - actions: ["sts:AssumeRole"]
        resources: ["arn:aws:iam::222222222222:role/vipd-routes"]
  - name: vipd-routes
    account: "222222222222"
    trust: {principals: ["arn:aws:iam::111111111111:role/vipd-node"], external-id: ext-1}
    session-lifetime: 2s
    actions: ["ec2:DescribeRouteTables"]
`

const routesARN = "arn:aws:iam::222222222222:role/vipd-routes"

// countingProxy forwards to target and counts the requests.
func countingProxy(t *testing.T, target string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	p := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestRoleClientsAssumeThroughSTSAndRefresh: a resource's role clients
// get their credentials from sts:AssumeRole, sent to the sts endpoint
// override, made with the instance's credentials; one set per distinct
// role; credentials are renewed before they expire, so calls keep
// working past the first session's expiry.
func TestRoleClientsAssumeThroughSTSAndRefresh(t *testing.T) {
	testenv.AWS(t)
	s := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, crossAccountWorld))
	node1 := s.Snapshot().Instances[0]
	stsProxy, stsHits := countingProxy(t, s.URL())
	c, err := awsapi.Load(t.Context(), awsapi.Options{Region: s.Region(), Endpoint: s.URL(), IMDSEndpoint: s.IMDSURL(node1.ID),
		Endpoints: awsapi.Endpoints{STS: stsProxy.URL}, WrapHTTPClient: vpcsimtest.BodyRaceFix, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	role := awsapi.Role{ARN: routesARN, ExternalID: "ext-1", SessionName: "vipd-node1"}
	set := c.Role(role)
	if c.Role(role) != set {
		t.Error("the same role gave two client sets")
	}
	if c.Role(awsapi.Role{ARN: routesARN, ExternalID: "other", SessionName: "vipd-node1"}) == set {
		t.Error("another external ID shared the role's client set")
	}
	if c.Role(awsapi.Role{}) != c {
		t.Error("the zero role is not the instance's set")
	}

	describe := func() {
		t.Helper()
		out, err := set.EC2.DescribeRouteTables(t.Context(), &ec2.DescribeRouteTablesInput{})
		if err != nil {
			t.Fatalf("DescribeRouteTables with the role: %v", err)
		}
		if len(out.RouteTables) == 0 {
			t.Fatal("the role sees no route table, want the owner's")
		}
		for _, rt := range out.RouteTables {
			if o := aws.ToString(rt.OwnerId); o != "222222222222" {
				t.Errorf("the role sees %s of account %s", aws.ToString(rt.RouteTableId), o)
			}
		}
	}
	describe()
	// Past the first session's end (the role's 2 s session lifetime):
	// its credentials are refused now (vpcsim's TestAssumeRoleCrossAccount),
	// so the second call works only with renewed ones.
	time.Sleep(2100 * time.Millisecond)
	describe()
	if n := stsHits.Load(); n < 2 {
		t.Errorf("%d calls reached the sts endpoint, want one AssumeRole per session (>= 2)", n)
	}
	var byRole int
	for _, call := range s.Calls(0) {
		if call.Service == "ec2" && call.Action == "DescribeRouteTables" {
			if call.Principal != "arn:aws:sts::222222222222:assumed-role/vipd-routes/vipd-node1" || call.Caller != node1.ID {
				t.Errorf("DescribeRouteTables signed by %s (%s), want node1's session of vipd-routes", call.Principal, call.Caller)
			}
			byRole++
		}
	}
	if byRole != 2 {
		t.Errorf("%d DescribeRouteTables calls logged, want 2", byRole)
	}
}

// TestRoleWithoutTrustIsNamed: the AssumeRole refusal reaches the caller
// with its code, naming the role.
func TestRoleWithoutTrustIsNamed(t *testing.T) {
	testenv.AWS(t)
	s := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, crossAccountWorld))
	c, err := awsapi.Load(t.Context(), awsapi.Options{Region: s.Region(), Endpoint: s.URL(), IMDSEndpoint: s.IMDSURL(s.Snapshot().Instances[0].ID),
		WrapHTTPClient: vpcsimtest.BodyRaceFix, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.AssumeRole(t.Context(), awsapi.Role{ARN: routesARN, SessionName: "vipd-node1"})
	if awsapi.Code(err) != "AccessDenied" || !strings.Contains(err.Error(), routesARN) {
		t.Errorf("AssumeRole without the external ID: %v, want AccessDenied naming the role", err)
	}
}

// TestEndpointPrecedence pins the order in which an EC2 call's endpoint is
// chosen, highest first: aws.endpoints.ec2 (Options.Endpoints),
// aws.endpoint (Options.Endpoint), AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL:
// what vipd's configuration says wins over the environment, as the SDK
// ranks an endpoint set in code over its environment variables (AWS SDKs
// and Tools reference guide, "Service-specific endpoints": precedence).
func TestEndpointPrecedence(t *testing.T) {
	names := []string{"config-ec2", "config-global", "env-ec2", "env-global"}
	hits := map[string]*atomic.Int32{}
	urls := map[string]string{}
	for _, n := range names {
		var c atomic.Int32
		hits[n] = &c
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Add(1)
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write([]byte(`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><vpcSet/></DescribeVpcsResponse>`))
		}))
		t.Cleanup(srv.Close)
		urls[n] = srv.URL
	}
	tests := []struct {
		set  []string
		want string
	}{
		{[]string{"config-ec2", "env-ec2", "config-global", "env-global"}, "config-ec2"},
		{[]string{"config-global", "env-ec2", "env-global"}, "config-global"},
		{[]string{"env-ec2", "env-global"}, "env-ec2"},
		{[]string{"env-global"}, "env-global"},
	}
	for _, tt := range tests {
		t.Run(tt.want+" wins over the rest", func(t *testing.T) {
			has := func(n string) bool { return strings.Contains(strings.Join(tt.set, " "), n) }
			var env []string
			if has("env-ec2") {
				env = append(env, "AWS_ENDPOINT_URL_EC2="+urls["env-ec2"])
			}
			if has("env-global") {
				env = append(env, "AWS_ENDPOINT_URL="+urls["env-global"])
			}
			testenv.AWS(t, append(env, "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x")...)
			o := awsapi.Options{Region: "eu-west-1", MaxAttempts: 1}
			if has("config-ec2") {
				o.Endpoints.EC2 = urls["config-ec2"]
			}
			if has("config-global") {
				o.Endpoint = urls["config-global"]
			}
			c, err := awsapi.Load(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			before := map[string]int32{}
			for _, n := range names {
				before[n] = hits[n].Load()
			}
			if _, err := c.EC2.DescribeVpcs(t.Context(), &ec2.DescribeVpcsInput{}); err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				got := hits[n].Load() - before[n]
				if (n == tt.want) != (got == 1) {
					t.Errorf("%s got %d calls; want the call at %s", n, got, tt.want)
				}
			}
		})
	}
}
