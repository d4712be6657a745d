package awsapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// The copy of a bucket grants its size at once, then one token per
// 1/refill, in the order the attempts asked; EC2's default for a mutating
// action is 50 refilled at 5 a second ("Request throttling for the Amazon
// EC2 API", EC2 API reference).
func TestBucketsGrantAtTheAccountsRate(t *testing.T) {
	b := NewBuckets(BucketSize{Size: 50, Refill: 5}, BucketSize{Size: 100, Refill: 20})
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return now }
	for i := range 50 {
		if d := b.reserve("ReplaceRoute"); d != 0 {
			t.Fatalf("write %d of a full bucket waits %s", i+1, d)
		}
	}
	for i, want := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond} {
		if d := b.reserve("ReplaceRoute"); d != want {
			t.Errorf("write %d past the burst waits %s, want %s", 51+i, d, want)
		}
	}
	// Each action has a bucket of its own, and a Describe call one of
	// the reads' size.
	if d := b.reserve("AssociateAddress"); d != 0 {
		t.Errorf("another action's first write waits %s", d)
	}
	for i := range 100 {
		if d := b.reserve("DescribeRouteTables"); d != 0 {
			t.Fatalf("read %d of a full read bucket waits %s", i+1, d)
		}
	}
	if d := b.reserve("DescribeRouteTables"); d != 50*time.Millisecond {
		t.Errorf("read past the burst waits %s, want 50ms (20 a second)", d)
	}
	// A second later five tokens came; three were promised already.
	now = now.Add(time.Second)
	if d := b.reserve("ReplaceRoute"); d != 0 {
		t.Errorf("write after the refill waits %s", d)
	}
	if d := b.reserve("ReplaceRoute"); d != 0 {
		t.Errorf("second write after the refill waits %s", d)
	}
	if d := b.reserve("ReplaceRoute"); d != 200*time.Millisecond {
		t.Errorf("third write after the refill waits %s, want 200ms", d)
	}
	// A throttled answer: someone else in the account took the tokens.
	now = now.Add(10 * time.Second)
	b.drain("ReplaceRoute")
	if d := b.reserve("ReplaceRoute"); d != 200*time.Millisecond {
		t.Errorf("write after a throttled answer waits %s, want 200ms", d)
	}
}

// A write whose caller gave up returns its token to the next.
func TestBucketsReturnAnUnusedToken(t *testing.T) {
	b := NewBuckets(BucketSize{Size: 1, Refill: 1}, BucketSize{Size: 1, Refill: 1})
	if err := b.wait(t.Context(), "ReplaceRoute"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := b.wait(ctx, "ReplaceRoute"); err == nil {
		t.Fatal("a write with 20ms left got a token due in a second")
	}
	if d := b.reserve("ReplaceRoute"); d > 1100*time.Millisecond || d < 900*time.Millisecond {
		t.Errorf("next write waits %s, want about 1s (the cancelled write's token given back)", d)
	}
}

// Through the clients, EC2 writes beyond the burst wait for their token
// instead of being sent and throttled, and reads draw from a bucket of
// their own: a controller writing for many clusters sends no attempt the
// account's bucket would refuse, and its writes do not hold up its reads.
func TestBucketsPaceWritesNotReads(t *testing.T) {
	var writes, reads atomic.Int32
	var mu sync.Mutex
	var at []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		if r.Form.Get("Action") == "DescribeRouteTables" {
			reads.Add(1)
			_, _ = w.Write([]byte(`<DescribeRouteTablesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><routeTableSet/></DescribeRouteTablesResponse>`))
			return
		}
		writes.Add(1)
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		_, _ = w.Write([]byte(`<ReplaceRouteResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r2</requestId><return>true</return></ReplaceRouteResponse>`))
	}))
	t.Cleanup(srv.Close)
	c := loadFor(t, srv.URL, Options{Buckets: NewBuckets(BucketSize{Size: 2, Refill: 10}, BucketSize{Size: 100, Refill: 1000})})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	for range 5 {
		if err := replaceRoute(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// 2 at once, 3 more at 10 a second.
	if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
		t.Errorf("5 writes on a bucket of 2 refilled at 10/s took %s, want about 300ms", d)
	}
	readStart := time.Now()
	for range 20 {
		if _, err := c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(readStart); d > 2*time.Second {
		t.Errorf("20 reads took %s on a read bucket of 100: the writes' bucket held them", d)
	}
	if writes.Load() != 5 || reads.Load() != 20 {
		t.Errorf("server saw %d writes and %d reads, want 5 and 20", writes.Load(), reads.Load())
	}
}
