package vpcsim_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	awsr53 "github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/route53"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

func TestThrottlingUsesMutatingBucket(t *testing.T) {
	srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{Throttle: true})
	c := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv, config.WithRetryMaxAttempts(1)))
	ctx := t.Context()
	throttledAt := 0
	for i := 1; i <= 60 && throttledAt == 0; i++ {
		_, err := c.DeleteRoute(ctx, &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbA), DestinationCidrBlock: aws.String(vip)})
		switch got := code(t, err); got {
		case "InvalidRoute.NotFound":
		case "RequestLimitExceeded":
			throttledAt = i
			if httpStatus(err) != 503 {
				t.Errorf("throttled call: HTTP %d, want 503", httpStatus(err))
			}
		default:
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// The bucket holds 50 and refills 5 per second: the 51st call (or one
	// soon after, if the loop was slow) is throttled.
	if throttledAt < 51 || throttledAt > 60 {
		t.Errorf("first throttled call = %d, want 51..60", throttledAt)
	}
	// Describe calls have their own bucket and still pass.
	if _, err := c.DescribeRouteTables(ctx, &awsec2.DescribeRouteTablesInput{}); err != nil {
		t.Errorf("describe after mutating calls were throttled: %v", err)
	}
}

func TestLatencyModel(t *testing.T) {
	timing := vpcsim.Timing{Describe: vpcsim.Dist{Median: 80 * time.Millisecond}}
	srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{Timing: timing})
	c := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv))
	start := time.Now()
	if _, err := c.DescribeVpcs(t.Context(), &awsec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("describe took %s, want at least 80ms", d)
	}
	start = time.Now()
	if _, err := c.DeleteRoute(t.Context(), &awsec2.DeleteRouteInput{RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip)}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("mutating call took %s with no mutate latency configured", d)
	}
}

func TestTimingProfiles(t *testing.T) {
	if _, err := vpcsim.TimingProfile("sluggish"); err == nil {
		t.Error("unknown profile accepted")
	}
	r, err := vpcsim.TimingProfile("realistic")
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		if d := r.Mutate.Sample(); d <= 0 || d > r.Mutate.Max {
			t.Fatalf("sample %s outside (0, %s]", d, r.Mutate.Max)
		}
	}
	// Route 53: "designed to propagate updates ... within 60 seconds
	// under normal conditions" (Route 53 FAQ), so PENDING for a while and
	// never longer than that.
	for range 1000 {
		if d := r.Route53Propagation.Sample(); d < 5*time.Second || d > route53.AWSPropagationDelay {
			t.Fatalf("route 53 propagation %s outside [5s, %s]", d, route53.AWSPropagationDelay)
		}
	}
	// DynamoDB: "single-digit millisecond performance" (Amazon DynamoDB
	// Developer Guide, "What is Amazon DynamoDB?"): most answers under
	// 10 ms, some slower, none near a lease.
	under := 0
	for range 1000 {
		d := r.DynamoDB.Sample()
		if d <= 0 || d > 500*time.Millisecond {
			t.Fatalf("dynamodb latency %s outside (0, 500ms]", d)
		}
		if d < 10*time.Millisecond {
			under++
		}
	}
	if under < 700 {
		t.Errorf("%d of 1000 DynamoDB answers under 10 ms, want most", under)
	}
	if d := (vpcsim.Dist{}).Sample(); d != 0 {
		t.Errorf("zero Dist sampled %s", d)
	}
}

// TestDynamoDBLatency: the timing's DynamoDB delay holds back DynamoDB's
// answers, as the dynamodb election meets them on AWS.
func TestDynamoDBLatency(t *testing.T) {
	timing := vpcsim.Timing{DynamoDB: vpcsim.Dist{Median: 200 * time.Millisecond}}
	srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{Timing: timing})
	c := awsddb.NewFromConfig(vpcsimtest.AdminConfig(t, srv))
	start := time.Now()
	if _, err := c.ListTables(t.Context(), &awsddb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("ListTables answered in %s with a 200ms DynamoDB latency", d)
	}
}

func TestStaleRouteReads(t *testing.T) {
	timing := vpcsim.Timing{StaleRoutes: vpcsim.Dist{Median: 400 * time.Millisecond}}
	srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{Timing: timing})
	c := awsec2.NewFromConfig(vpcsimtest.AdminConfig(t, srv))
	ctx := t.Context()
	start := time.Now()
	if _, err := c.ReplaceRoute(ctx, &awsec2.ReplaceRouteInput{RouteTableId: aws.String(rtbB), DestinationCidrBlock: aws.String(vip), NetworkInterfaceId: aws.String(eniA)}); err != nil {
		t.Fatal(err)
	}
	r := routeTo(t, c, rtbB, vip)
	if time.Since(start) < 300*time.Millisecond && aws.ToString(r.NetworkInterfaceId) != eniB {
		t.Errorf("read right after the change shows %s, want the stale %s", aws.ToString(r.NetworkInterfaceId), eniB)
	}
	// The control endpoint and the data plane see the change at once.
	if got := findRoute(srv.Snapshot(), rtbB, vip); got.NetworkInterfaceID != eniA {
		t.Errorf("snapshot shows %s, want %s", got.NetworkInterfaceID, eniA)
	}
	waitFor(t, "the change to become visible", func() bool { return aws.ToString(routeTo(t, c, rtbB, vip).NetworkInterfaceId) == eniA })
}

// TestRoute53PropagationFromTiming checks that a timing profile's Route 53
// propagation reaches GetChange: a change is PENDING until the delay has
// passed, then INSYNC (GetChange: "PENDING indicates that the changes in
// this request have not propagated to all Amazon Route 53 DNS servers",
// https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html),
// and an explicit route53.Options.PropagationDelay wins over the profile.
func TestRoute53PropagationFromTiming(t *testing.T) {
	for _, tt := range []struct {
		name     string
		explicit time.Duration
		want     time.Duration
	}{
		{"from the timing profile", 0, 40 * time.Second},
		{"route53 options win", 5 * time.Second, 5 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var elapsed atomic.Int64
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			now := func() time.Time { return start.Add(time.Duration(elapsed.Load())) }
			srv := vpcsimtest.NewServerOptions(t, loadTestWorld(t), vpcsim.Options{
				Timing:  vpcsim.Timing{Route53Propagation: vpcsim.Dist{Median: 40 * time.Second}},
				Route53: route53.Options{PropagationDelay: tt.explicit, Now: now},
			})
			c := awsr53.NewFromConfig(vpcsimtest.AdminConfig(t, srv))
			z, err := c.CreateHostedZone(t.Context(), &awsr53.CreateHostedZoneInput{Name: aws.String("db.example.com."), CallerReference: aws.String(t.Name())})
			if err != nil {
				t.Fatal(err)
			}
			out, err := c.ChangeResourceRecordSets(t.Context(), &awsr53.ChangeResourceRecordSetsInput{HostedZoneId: z.HostedZone.Id, ChangeBatch: &r53types.ChangeBatch{
				Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
					Name: aws.String("vip.db.example.com."), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("10.0.1.10")}}}}}}})
			if err != nil {
				t.Fatal(err)
			}
			status := func() r53types.ChangeStatus {
				got, err := c.GetChange(t.Context(), &awsr53.GetChangeInput{Id: out.ChangeInfo.Id})
				if err != nil {
					t.Fatal(err)
				}
				return got.ChangeInfo.Status
			}
			elapsed.Store(int64(tt.want - time.Second))
			if got := status(); got != r53types.ChangeStatusPending {
				t.Errorf("status %s before the %s propagation, want PENDING", got, tt.want)
			}
			elapsed.Store(int64(tt.want + time.Second))
			if got := status(); got != r53types.ChangeStatusInsync {
				t.Errorf("status %s after the %s propagation, want INSYNC", got, tt.want)
			}
		})
	}
}
