package dnsrecord_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	awsroute53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/resource"
	"github.com/vipd/vipd/internal/resource/dnsrecord"
	"github.com/vipd/vipd/internal/resource/resourcetest"
	"github.com/vipd/vipd/internal/vpcsim/route53"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	selfA = resource.Self{Name: "a", Identity: awsapi.Identity{InstanceID: "i-0a000000000000001", PrivateIP: netip.MustParseAddr("10.0.1.10")}}
	selfB = resource.Self{Name: "b", Identity: awsapi.Identity{InstanceID: "i-0b000000000000001", PrivateIP: netip.MustParseAddr("10.0.2.10")}}
)

// start serves svc on a loopback port and returns a real SDK client for it
// with attempts tries per call, and a private zone's id.
func start(t *testing.T, svc *route53.Service, attempts int) (*awsroute53.Client, string) {
	t.Helper()
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	c := awsroute53.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("x", "x", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: attempts,
	}, func(o *awsroute53.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	out, err := c.CreateHostedZone(t.Context(), &awsroute53.CreateHostedZoneInput{
		Name:             aws.String("example.internal"),
		CallerReference:  aws.String(t.Name()),
		HostedZoneConfig: &types.HostedZoneConfig{PrivateZone: true},
		VPC:              &types.VPC{VPCId: aws.String("vpc-0a000000000000001"), VPCRegion: types.VPCRegionUsEast1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/")
}

func lookup(t *testing.T, c *awsroute53.Client, zone string) (string, int64) {
	t.Helper()
	out, err := c.ListResourceRecordSets(t.Context(), &awsroute53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(zone), StartRecordName: aws.String("db.example.internal."), StartRecordType: types.RRTypeA, MaxItems: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out.ResourceRecordSets {
		if aws.ToString(s.Name) == "db.example.internal." && s.Type == types.RRTypeA {
			return aws.ToString(s.ResourceRecords[0].Value), aws.ToInt64(s.TTL)
		}
	}
	return "", 0
}

func cfg(zone string) config.Route53 {
	return config.Route53{HostedZoneID: zone, Name: "db.example.internal", TTL: 10 * time.Second}
}

func TestAcquireUpsertsAndCheckFindsDrift(t *testing.T) {
	c, zone := start(t, route53.New(route53.Options{}), 3)
	ctx := t.Context()
	ra := dnsrecord.New(cfg(zone), c, nil, dnsrecord.Options{}, resourcetest.Logger(t))
	rb := dnsrecord.New(cfg(zone), c, nil, dnsrecord.Options{}, resourcetest.Logger(t))

	st, err := ra.Check(ctx, selfA)
	if err != nil || st.InSync || st.Drift[0] != "db.example.internal. A: missing, want 10.0.1.10" {
		t.Fatalf("Check before acquire = %+v, %v", st, err)
	}
	if err := ra.Acquire(ctx, selfA, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if v, ttl := lookup(t, c, zone); v != "10.0.1.10" || ttl != 10 {
		t.Errorf("record = %s ttl %d, want 10.0.1.10 ttl 10", v, ttl)
	}
	first := ra.LastChange()
	if first.ID == "" {
		t.Fatal("no change recorded")
	}
	if err := ra.Acquire(ctx, selfA, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := ra.LastChange().ID; got != first.ID {
		t.Errorf("a second Acquire submitted change %s; want none", got)
	}
	st, err = ra.Check(ctx, selfA)
	if err != nil || !st.InSync || !strings.Contains(st.Detail, first.ID) {
		t.Errorf("Check after acquire = %+v, %v; want in sync with the change id in detail", st, err)
	}

	// b takes over; a sees the record point elsewhere, and repairs it when
	// it is the owner again.
	if err := rb.Acquire(ctx, selfB, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	st, err = ra.Check(ctx, selfA)
	if err != nil || st.InSync || st.Drift[0] != "db.example.internal. A: 10.0.2.10, want 10.0.1.10" {
		t.Errorf("a's Check after b took over = %+v, %v", st, err)
	}
	if err := ra.Acquire(ctx, selfA, resourcetest.Token(3)); err != nil {
		t.Fatal(err)
	}
	if v, _ := lookup(t, c, zone); v != "10.0.1.10" {
		t.Errorf("after repair the record is %s", v)
	}
	if err := ra.Release(ctx, selfA, resourcetest.Token(3)); err != nil {
		t.Fatal(err)
	}
	if v, _ := lookup(t, c, zone); v != "10.0.1.10" {
		t.Errorf("release removed the record: %q", v)
	}
}

func TestTTLDrift(t *testing.T) {
	c, zone := start(t, route53.New(route53.Options{}), 3)
	other := cfg(zone)
	other.TTL = 300 * time.Second
	if err := dnsrecord.New(other, c, nil, dnsrecord.Options{}, resourcetest.Logger(t)).Acquire(t.Context(), selfA, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	r := dnsrecord.New(cfg(zone), c, nil, dnsrecord.Options{}, resourcetest.Logger(t))
	st, err := r.Check(t.Context(), selfA)
	if err != nil || st.InSync || st.Drift[0] != "db.example.internal. A: ttl 300s, want 10s" {
		t.Errorf("Check = %+v, %v", st, err)
	}
}

func TestWaitInsync(t *testing.T) {
	c, zone := start(t, route53.New(route53.Options{PropagationDelay: 300 * time.Millisecond}), 3)
	conf := cfg(zone)
	conf.WaitInsync = true
	r := dnsrecord.New(conf, c, nil, dnsrecord.Options{PollInterval: 50 * time.Millisecond}, resourcetest.Logger(t))
	if err := r.Acquire(t.Context(), selfA, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	ch := r.LastChange()
	if ch.Status != string(types.ChangeStatusInsync) || ch.Insync < 250*time.Millisecond {
		t.Errorf("last change = %+v; want INSYNC after about 300ms", ch)
	}
	st, err := r.Check(t.Context(), selfA)
	if err != nil || !strings.Contains(st.Detail, "INSYNC after") {
		t.Errorf("Check = %+v, %v; want the wait in detail", st, err)
	}
}

func TestWaitInsyncDeadline(t *testing.T) {
	c, zone := start(t, route53.New(route53.Options{PropagationDelay: time.Minute}), 3)
	conf := cfg(zone)
	conf.WaitInsync, conf.InsyncTimeout = true, 300*time.Millisecond
	r := dnsrecord.New(conf, c, nil, dnsrecord.Options{PollInterval: 50 * time.Millisecond}, resourcetest.Logger(t))
	start := time.Now()
	err := r.Acquire(t.Context(), selfA, resourcetest.Token(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire = %v, want the INSYNC deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Acquire took %s with a 300ms INSYNC deadline", d)
	}
	if v, _ := lookup(t, c, zone); v != "10.0.1.10" {
		t.Errorf("record = %q; the change must be in even if not INSYNC", v)
	}
	if got := r.LastChange().Status; got != string(types.ChangeStatusPending) {
		t.Errorf("last change status = %s, want PENDING", got)
	}
}

func TestThrottling(t *testing.T) {
	t.Run("without retries Throttling is returned", func(t *testing.T) {
		svc := route53.New(route53.Options{RequestsPerSecond: 1})
		c, zone := start(t, svc, 1) // the zone's creation takes the one token
		r := dnsrecord.New(cfg(zone), c, nil, dnsrecord.Options{}, resourcetest.Logger(t))
		err := r.Acquire(t.Context(), selfA, resourcetest.Token(1))
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "Throttling" {
			t.Errorf("Acquire = %v, want Throttling", err)
		}
	})
	t.Run("the SDK's retries absorb a burst", func(t *testing.T) {
		svc := route53.New(route53.Options{RequestsPerSecond: 2})
		c, zone := start(t, svc, 8)
		r := dnsrecord.New(cfg(zone), c, nil, dnsrecord.Options{CallTimeout: 10 * time.Second}, resourcetest.Logger(t))
		for i := range 3 {
			self := selfA
			if i%2 == 1 {
				self = selfB
			}
			if err := r.Acquire(t.Context(), self, resourcetest.Token(uint64(i+1))); err != nil {
				t.Fatalf("acquire %d: %v", i, err)
			}
		}
		if v, _ := lookup(t, c, zone); v != "10.0.1.10" {
			t.Errorf("record = %q", v)
		}
	})
}

func TestPriorRequestNotComplete(t *testing.T) {
	c, zone := start(t, route53.New(route53.Options{PropagationDelay: 400 * time.Millisecond, RejectWhilePending: true}), 3)
	r := dnsrecord.New(cfg(zone), c, nil, dnsrecord.Options{}, resourcetest.Logger(t))
	// The zone's own creation is still PENDING: the first change is
	// accepted, the second must wait for it.
	if err := r.Acquire(t.Context(), selfA, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if err := r.Acquire(t.Context(), selfB, resourcetest.Token(2)); err != nil {
		t.Fatalf("Acquire while the previous change is PENDING: %v", err)
	}
	if v, _ := lookup(t, c, zone); v != "10.0.2.10" {
		t.Errorf("record = %q", v)
	}
}

func TestPublicAddress(t *testing.T) {
	s := vpcsimtest.NewServer(t, vpcsimtest.ParseWorld(t, `
vpcs: [{id: vpc-0a000000000000001, cidr: 10.0.0.0/16}]
subnets: [{id: subnet-0a000000000000001, vpc: vpc-0a000000000000001, cidr: 10.0.1.0/24, az: a}]
instances: [{id: i-0a000000000000001, subnet: subnet-0a000000000000001, private-ip: 10.0.1.10}]
elastic-ips: [{id: eipalloc-0a000000000000001, public-ip: 203.0.113.50, instance: i-0a000000000000001}]
`))
	c, zone := start(t, route53.New(route53.Options{}), 3)
	conf := cfg(zone)
	conf.Address = config.AddressPublic
	r := dnsrecord.New(conf, c, ec2.NewFromConfig(vpcsimtest.AdminConfig(t, s)), dnsrecord.Options{}, resourcetest.Logger(t))
	if err := r.Acquire(t.Context(), selfA, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if v, _ := lookup(t, c, zone); v != "203.0.113.50" {
		t.Errorf("record = %q, want the Elastic IP", v)
	}
	if _, err := r.Check(t.Context(), selfB); err == nil {
		t.Error("Check for an instance without an Elastic IP succeeded")
	}
}

// TestAAAAFollowsTheOwnersIPv6Address: with address: private-ipv6 an AAAA
// record holds the owner's IPv6 address and moves with the owner; an
// owner without one is an error naming its interface, not an empty record.
func TestAAAAFollowsTheOwnersIPv6Address(t *testing.T) {
	c, zone := start(t, route53.New(route53.Options{}), 3)
	ctx := t.Context()
	conf := cfg(zone)
	conf.Type, conf.Address = "AAAA", config.AddressPrivateIPv6
	a, b := selfA, selfB
	a.IPv6, b.IPv6 = netip.MustParseAddr("2001:db8:1:1::10"), netip.MustParseAddr("2001:db8:1:2::10")
	value := func() string {
		out, err := c.ListResourceRecordSets(ctx, &awsroute53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range out.ResourceRecordSets {
			if aws.ToString(s.Name) == "db.example.internal." && s.Type == types.RRTypeAaaa {
				return aws.ToString(s.ResourceRecords[0].Value)
			}
		}
		return ""
	}
	r := dnsrecord.New(conf, c, nil, dnsrecord.Options{}, resourcetest.Logger(t))
	if err := r.Acquire(ctx, a, resourcetest.Token(1)); err != nil {
		t.Fatal(err)
	}
	if got := value(); got != "2001:db8:1:1::10" {
		t.Fatalf("AAAA after a acquired = %q", got)
	}
	if err := r.Acquire(ctx, b, resourcetest.Token(2)); err != nil {
		t.Fatal(err)
	}
	if got := value(); got != "2001:db8:1:2::10" {
		t.Fatalf("AAAA after b acquired = %q", got)
	}
	if err := r.Acquire(ctx, selfA, resourcetest.Token(3)); err == nil || !strings.Contains(err.Error(), "has none") {
		t.Fatalf("acquire by an owner without IPv6: %v, want an error", err)
	}
}
