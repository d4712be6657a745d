package vpcsim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func imdsClient(url string) *imds.Client {
	return imds.New(imds.Options{
		Endpoint:   url,
		HTTPClient: &http.Client{Timeout: 2 * time.Second},
		Retryer:    retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 1 }),
	})
}

func metadata(t *testing.T, c *imds.Client, path string) string {
	t.Helper()
	out, err := c.GetMetadata(t.Context(), &imds.GetMetadataInput{Path: path})
	if err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(out.Content)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIMDSWithSDK(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	c := imdsClient(srv.IMDSURL(nodeA))
	ctx := t.Context()

	got := map[string]string{}
	for _, p := range []string{"instance-id", "placement/availability-zone", "placement/region", "mac", "local-ipv4",
		"network/interfaces/macs/", "network/interfaces/macs/02:00:00:00:0a:01/interface-id",
		"network/interfaces/macs/02:00:00:00:0a:01/subnet-id", "network/interfaces/macs/02:00:00:00:0a:01/vpc-id",
		"network/interfaces/macs/02:00:00:00:0a:01/local-ipv4s", "network/interfaces/macs/02:00:00:00:0a:01/subnet-ipv4-cidr-block",
		"network/interfaces/macs/02:00:00:00:0a:01/device-number", "iam/security-credentials/"} {
		got[p] = metadata(t, c, p)
	}
	want := map[string]string{
		"instance-id":                 nodeA,
		"placement/availability-zone": "us-east-1a",
		"placement/region":            "us-east-1",
		"mac":                         "02:00:00:00:0a:01",
		"local-ipv4":                  "10.0.1.10",
		"network/interfaces/macs/":    "02:00:00:00:0a:01/",
		"network/interfaces/macs/02:00:00:00:0a:01/interface-id":           eniA,
		"network/interfaces/macs/02:00:00:00:0a:01/subnet-id":              subnetA,
		"network/interfaces/macs/02:00:00:00:0a:01/vpc-id":                 vpcDemo,
		"network/interfaces/macs/02:00:00:00:0a:01/local-ipv4s":            "10.0.1.10",
		"network/interfaces/macs/02:00:00:00:0a:01/subnet-ipv4-cidr-block": "10.0.1.0/24",
		"network/interfaces/macs/02:00:00:00:0a:01/device-number":          "0",
		"iam/security-credentials/":                                        "vipd-node",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}

	region, err := c.GetRegion(ctx, &imds.GetRegionInput{})
	if err != nil || region.Region != "us-east-1" {
		t.Errorf("GetRegion = %+v, %v", region, err)
	}
	doc, err := c.GetInstanceIdentityDocument(ctx, &imds.GetInstanceIdentityDocumentInput{})
	if err != nil {
		t.Fatal(err)
	}
	if doc.InstanceID != nodeA || doc.AccountID != "123456789012" || doc.PrivateIP != "10.0.1.10" || doc.AvailabilityZone != "us-east-1a" {
		t.Errorf("identity document = %+v", doc.InstanceIdentityDocument)
	}

	// The dual-homed instance lists both interfaces, the second at device 1.
	m := imdsClient(srv.IMDSURL(multi))
	macs := strings.Fields(metadata(t, m, "network/interfaces/macs/"))
	if len(macs) != 2 {
		t.Fatalf("macs of multi = %q, want 2", macs)
	}
	if got := metadata(t, m, "network/interfaces/macs/"+macs[1]+"device-number"); got != "1" {
		t.Errorf("device-number of second interface = %q, want 1", got)
	}
	if got := metadata(t, imdsClient(srv.IMDSURL(nodeB)), "network/interfaces/macs/"+macOf(t, srv.IMDSURL(nodeB))+"/local-ipv4s"); got != "10.0.2.10\n10.0.2.100" {
		t.Errorf("local-ipv4s of node-b = %q, want primary then secondary", got)
	}
}

func macOf(t *testing.T, url string) string {
	t.Helper()
	return metadata(t, imdsClient(url), "mac")
}

func TestIMDSRoleCredentialsSignCalls(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	provider := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imdsClient(srv.IMDSURL(nodeB)) })
	creds, err := provider.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("retrieve role credentials: %v", err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SessionToken == "" || !creds.CanExpire || time.Until(creds.Expires) < 30*time.Minute {
		t.Errorf("credentials = %+v, want temporary ASIA credentials valid for a while", creds)
	}
	// The same credentials, through vpcsimtest's config, identify node-b.
	c := instanceClient(t, srv, nodeB)
	if _, err := c.DescribeRouteTables(t.Context(), &awsec2.DescribeRouteTablesInput{}); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls(0)
	if len(calls) != 1 || calls[0].Caller != nodeB || calls[0].Action != "DescribeRouteTables" {
		t.Errorf("calls = %+v, want one DescribeRouteTables by %s", calls, nodeB)
	}

	// An instance without a role has no credentials to offer.
	_, err = ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imdsClient(srv.IMDSURL(outsider)) }).Retrieve(t.Context())
	if err == nil {
		t.Error("instance without a role served credentials")
	}
}

func TestIMDSRequiresToken(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	base := srv.IMDSURL(nodeA)
	do := func(method, path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do(http.MethodGet, "/latest/meta-data/instance-id", nil); code != http.StatusUnauthorized {
		t.Errorf("GET without token: %d, want 401", code)
	}
	if code, _ := do(http.MethodGet, "/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": "forged"}); code != http.StatusUnauthorized {
		t.Errorf("GET with forged token: %d, want 401", code)
	}
	if code, _ := do(http.MethodPut, "/latest/api/token", nil); code != http.StatusBadRequest {
		t.Errorf("PUT token without TTL: %d, want 400", code)
	}
	if code, _ := do(http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21601"}); code != http.StatusBadRequest {
		t.Errorf("PUT token with TTL 21601: %d, want 400", code)
	}
	if code, _ := do(http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "10.0.0.1"}); code != http.StatusForbidden {
		t.Errorf("PUT token through a proxy: %d, want 403", code)
	}
	code, tok := do(http.MethodPut, "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	if code != http.StatusOK || tok == "" {
		t.Fatalf("PUT token: %d %q", code, tok)
	}
	if code, body := do(http.MethodGet, "/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": tok}); code != http.StatusOK || body != nodeA {
		t.Errorf("GET with token: %d %q", code, body)
	}
	// A token is bound to the instance that issued it.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.IMDSURL(nodeB)+"/latest/meta-data/instance-id", nil)
	req.Header.Set("X-aws-ec2-metadata-token", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("node-a's token on node-b's IMDS: %d, want 401", resp.StatusCode)
	}
	if code, _ := do(http.MethodGet, "/latest/meta-data/no-such-thing", map[string]string{"X-aws-ec2-metadata-token": tok}); code != http.StatusNotFound {
		t.Errorf("GET unknown path: %d, want 404", code)
	}
}

func TestIMDSv1WhenAllowed(t *testing.T) {
	w := vpcsimtest.ParseWorld(t, `
imds-v1: true
vpcs: [{name: v, cidr: 10.1.0.0/16}]
subnets: [{name: s, vpc: v, cidr: 10.1.1.0/24, az: a}]
instances: [{id: i-01234567890abcdef, subnet: s}]
`)
	srv := vpcsimtest.NewServer(t, w)
	resp, err := http.Get(srv.IMDSURL("i-01234567890abcdef") + "/latest/meta-data/local-ipv4")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// The first address after the four AWS reserves.
	if resp.StatusCode != http.StatusOK || string(b) != "10.1.1.4" {
		t.Errorf("IMDSv1 GET: %d %q, want 200 10.1.1.4", resp.StatusCode, b)
	}
}

func TestIMDSDownAndStopped(t *testing.T) {
	srv := vpcsimtest.NewServer(t, loadTestWorld(t))
	c := imdsClient(srv.IMDSURL(nodeA))
	get := func() error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.GetMetadata(ctx, &imds.GetMetadataInput{Path: "instance-id"})
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetIMDS(nodeA, false); err != nil {
		t.Fatal(err)
	}
	if err := get(); err == nil {
		t.Fatal("IMDS answered while down")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("IMDS down should drop connections at once, got %v", err)
	}
	if err := srv.SetIMDS(nodeA, true); err != nil {
		t.Fatal(err)
	}
	if err := get(); err != nil {
		t.Fatalf("IMDS back up: %v", err)
	}
	if err := srv.SetInstanceState(nodeA, "stopped"); err != nil {
		t.Fatal(err)
	}
	if err := get(); err == nil {
		t.Fatal("stopped instance's IMDS answered")
	}
}
