package awsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
		if got := throttleDelay(tc.attempt, most, tc.u); got != tc.want {
			t.Errorf("throttleDelay(%d, %s, %v) = %s, want %s", tc.attempt, most, tc.u, got, tc.want)
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
