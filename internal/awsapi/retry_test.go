package awsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vipd/vipd/internal/testenv"
)

// ec2Answers is an EC2 endpoint that answers the first fail calls with
// code (HTTP status), and every later one with success.
func ec2Answers(t *testing.T, fail int, code string, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		if int(n) <= fail {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`<Response><Errors><Error><Code>` + code + `</Code><Message>m</Message></Error></Errors><RequestID>r1</RequestID></Response>`))
			return
		}
		_, _ = w.Write([]byte(`<ReplaceRouteResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r2</requestId><return>true</return></ReplaceRouteResponse>`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// loadFor builds the clients against url as vipd does, free of the
// caller's AWS configuration.
func loadFor(t *testing.T, url string, o Options) *Clients {
	t.Helper()
	testenv.AWS(t)
	o.Region, o.Endpoint = "us-east-1", url
	o.Credentials = credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")
	c, err := Load(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func replaceRoute(ctx context.Context, c *Clients) error {
	_, err := c.EC2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{
		RouteTableId:         aws.String("rtb-0a000000000000001"),
		DestinationCidrBlock: aws.String("192.168.100.10/32"),
		NetworkInterfaceId:   aws.String("eni-0a000000000000001"),
	})
	return err
}

// A write EC2 throttles is retried until it goes through, however many
// attempts that takes within the caller's deadline (issue 17): when an
// Availability Zone fails, every cluster of the account writes at once and
// EC2's mutating bucket (50, refilled at 5 a second, "Request throttling
// for the Amazon EC2 API") grants the writes one by one; a writer that
// gave up after the SDK's usual 4 attempts left its cluster waiting for a
// second retry layer. RequestLimitExceeded comes with HTTP 503 from EC2.
func TestThrottledCallRetriedUntilItGoesThrough(t *testing.T) {
	srv, calls := ec2Answers(t, 9, CodeRequestLimitExceeded, http.StatusServiceUnavailable)
	c := loadFor(t, srv.URL, Options{ThrottleBackoff: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := replaceRoute(ctx, c); err != nil {
		t.Fatalf("ReplaceRoute after 9 throttled attempts: %v", err)
	}
	if n := calls.Load(); n != 10 {
		t.Errorf("attempts = %d, want 10", n)
	}
}

// The caller's deadline ends a throttled call: it fails with EC2's code,
// which the log and vipd_aws_throttles_total show, and the context's.
func TestThrottledCallEndsWithItsContext(t *testing.T) {
	srv, _ := ec2Answers(t, 1<<30, CodeRequestLimitExceeded, http.StatusServiceUnavailable)
	c := loadFor(t, srv.URL, Options{ThrottleBackoff: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := replaceRoute(ctx, c)
	if Code(err) != CodeRequestLimitExceeded || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ReplaceRoute throttled until its deadline = %v, want %s and the deadline", err, CodeRequestLimitExceeded)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("throttled call took %s past a 500ms deadline", d)
	}
}

// Errors other than throttling keep the SDK's bound on attempts, and the
// caller sees the service's code; a preflight bounds throttled calls too.
func TestOtherErrorsAndPreflightKeepTheirAttempts(t *testing.T) {
	srv, calls := ec2Answers(t, 1<<30, CodeInternalError, http.StatusInternalServerError)
	c := loadFor(t, srv.URL, Options{MaxAttempts: 3, MaxBackoff: time.Millisecond})
	err := replaceRoute(t.Context(), c)
	if Code(err) != CodeInternalError {
		t.Errorf("ReplaceRoute err = %v, want %s", err, CodeInternalError)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("attempts on InternalError = %d, want 3", n)
	}

	srv, calls = ec2Answers(t, 1<<30, CodeRequestLimitExceeded, http.StatusServiceUnavailable)
	c = loadFor(t, srv.URL, Options{MaxAttempts: 2, ThrottledAttempts: 2, ThrottleBackoff: time.Millisecond})
	err = replaceRoute(t.Context(), c)
	if Code(err) != CodeRequestLimitExceeded {
		t.Errorf("preflight ReplaceRoute err = %v, want %s", err, CodeRequestLimitExceeded)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("preflight attempts when throttled = %d, want 2", n)
	}
}

// Each throttled pause is drawn at random below a range that doubles from
// throttleBase up to the cap: writers that were throttled more often do
// not wait longer than the cap (no starvation), and none waits the same
// fixed time as the others (no lockstep).
func TestThrottleDelay(t *testing.T) {
	most := time.Second
	for _, tc := range []struct {
		attempt int
		u       float64
		want    time.Duration
	}{
		{1, 0.5, throttleBase / 2},
		{2, 0.5, throttleBase},
		{3, 0.999, time.Duration(0.999 * float64(4*throttleBase))},
		{5, 0.5, most / 2},
		{40, 0.5, most / 2},
		{1000, 0.25, most / 4},
		{7, 0, 0},
	} {
		if got := ThrottleDelay(tc.attempt, most, tc.u); got != tc.want {
			t.Errorf("ThrottleDelay(%d, %s, %v) = %s, want %s", tc.attempt, most, tc.u, got, tc.want)
		}
	}
}

// Each attempt is bounded by the attempt timeout: an endpoint that never
// answers ends the call after about that long, not the caller's deadline.
func TestAttemptTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block); srv.Close() })
	c := loadFor(t, srv.URL, Options{AttemptTimeout: 200 * time.Millisecond, MaxAttempts: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := replaceRoute(ctx, c); err == nil {
		t.Fatal("ReplaceRoute to an endpoint that never answers succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("call took %s with a 200ms attempt timeout", d)
	}
}

// A call's own pace (an operation option) replaces the retryer's
// throttled pauses for that call, and a call without it keeps the
// retryer's; whether a throttled call is retried stays the retryer's.
func TestPacedCall(t *testing.T) {
	srv, calls := ec2Answers(t, 3, CodeRequestLimitExceeded, http.StatusServiceUnavailable)
	c := loadFor(t, srv.URL, Options{ThrottleBackoff: time.Millisecond})
	var asked []int
	pace := func(attempt int, most time.Duration, u float64) time.Duration {
		if most != time.Millisecond || u < 0 || u >= 1 {
			t.Errorf("pace called with most %s, u %v; want the retryer's 1ms and u in [0, 1)", most, u)
		}
		asked = append(asked, attempt)
		return 300 * time.Millisecond
	}
	start := time.Now()
	_, err := c.EC2.ReplaceRoute(t.Context(), &ec2.ReplaceRouteInput{
		RouteTableId:         aws.String("rtb-0a000000000000001"),
		DestinationCidrBlock: aws.String("192.168.100.10/32"),
		NetworkInterfaceId:   aws.String("eni-0a000000000000001"),
	}, func(o *ec2.Options) { o.Retryer = Paced(o.Retryer, pace) })
	if err != nil {
		t.Fatalf("paced ReplaceRoute after 3 throttled attempts: %v", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("3 paced pauses of 300ms took %s", d)
	}
	if !slices.Equal(asked, []int{1, 2, 3}) || calls.Load() != 4 {
		t.Errorf("pace asked after attempts %v, %d calls; want [1 2 3] and 4", asked, calls.Load())
	}

	// A call without the option pauses by the retryer's own 1ms cap.
	srv, _ = ec2Answers(t, 3, CodeRequestLimitExceeded, http.StatusServiceUnavailable)
	c = loadFor(t, srv.URL, Options{ThrottleBackoff: time.Millisecond})
	start = time.Now()
	if err := replaceRoute(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Errorf("unpaced call after 3 throttles took %s with a 1ms cap", d)
	}
	if n := len(asked); n != 3 {
		t.Errorf("pace of one call asked %d times after another call; want 3", n)
	}
}
