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
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"

	"github.com/vipd/vipd/internal/fence"
)

// AWS may apply a request at any time until it answers, so a fenced call
// must not send an attempt, first or retry, once its grant is valid for no
// longer than the token's margin (design.md, fencing layer 1; issue 16,
// finding 6). Here the first attempt meets a 503, which the SDK retries
// (EC2 API reference, "Error codes": Unavailable is a server error to retry
// with backoff); before the retry the grant has come within its margin, so
// the retry must not reach the server and the error must wrap ErrStale.
func TestFencedCallSendsNoAttemptWithinTheMargin(t *testing.T) {
	var sent atomic.Int32
	var short atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		short.Store(true) // the grant nears its end while this attempt is answered
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`<Response><Errors><Error><Code>Unavailable</Code><Message>The service is unavailable.</Message></Error></Errors><RequestID>r1</RequestID></Response>`))
	}))
	defer srv.Close()
	client := ec2.New(ec2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 10 * time.Millisecond
		}),
		APIOptions: []func(*middleware.Stack) error{addTokenUserAgent, addFenceAttempt},
	})
	margin := 200 * time.Millisecond
	tok := fence.New(9, func(uint64) (time.Time, bool) {
		if short.Load() {
			return time.Now().Add(margin / 2), true
		}
		return time.Now().Add(time.Hour), true
	}).WithMargin(margin)
	ctx, cancel := context.WithTimeout(fence.WithToken(t.Context(), tok), 10*time.Second)
	defer cancel()
	_, err := client.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{
		RouteTableId:         aws.String("rtb-0a000000000000001"),
		DestinationCidrBlock: aws.String("192.168.100.10/32"),
		NetworkInterfaceId:   aws.String("eni-0a000000000000001"),
	})
	if !errors.Is(err, fence.ErrStale) {
		t.Errorf("ReplaceRoute err = %v, want ErrStale", err)
	}
	if n := sent.Load(); n != 1 {
		t.Errorf("attempts sent = %d, want 1: the retry went out within the margin", n)
	}

	// A call without a token is not fenced: it retries as the SDK does.
	sent.Store(0)
	short.Store(false)
	_, err = client.ReplaceRoute(t.Context(), &ec2.ReplaceRouteInput{
		RouteTableId:         aws.String("rtb-0a000000000000001"),
		DestinationCidrBlock: aws.String("192.168.100.10/32"),
		NetworkInterfaceId:   aws.String("eni-0a000000000000001"),
	})
	if err == nil || errors.Is(err, fence.ErrStale) {
		t.Errorf("unfenced ReplaceRoute err = %v, want the server's error", err)
	}
	if n := sent.Load(); n != 3 {
		t.Errorf("unfenced attempts sent = %d, want 3", n)
	}
}
