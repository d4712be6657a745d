package faults

import (
	"testing"
	"time"
)

// TestBucketRefill: a bucket holds Capacity tokens and refills Refill a
// second up to Capacity ("Request throttling for the Amazon EC2 API",
// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html:
// refill tokens that arrive at a full bucket are discarded, and tokens
// can be used as they arrive). With EC2's mutating bucket (50, 5 a
// second) 100 writes from a full bucket need 10 s, the floor of the
// storm benchmark; each key is a bucket of its own.
func TestBucketRefill(t *testing.T) {
	size := Bucket{Capacity: 50, Refill: 5}
	var b buckets
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 50 {
		if !b.take("ReplaceRoute", size, t0) {
			t.Fatalf("call %d of a full bucket throttled", i+1)
		}
	}
	if b.take("ReplaceRoute", size, t0) {
		t.Fatal("51st call at once passed")
	}
	if !b.take("CreateRoute", size, t0) {
		t.Error("another action's call throttled by ReplaceRoute's bucket")
	}
	// 50 more writes as fast as tokens come: the last at 10 s.
	granted, last := 0, time.Duration(0)
	for d := time.Duration(0); d <= 20*time.Second && granted < 50; d += 10 * time.Millisecond {
		if b.take("ReplaceRoute", size, t0.Add(d)) {
			granted, last = granted+1, d
		}
	}
	if granted != 50 || last < 9900*time.Millisecond || last > 10*time.Second {
		t.Errorf("granted %d more, the last at %s; want 50, the last at 10s", granted, last)
	}
	// An idle minute refills it to 50, no more.
	t1 := t0.Add(time.Minute)
	n := 0
	for b.take("ReplaceRoute", size, t1) {
		n++
	}
	if n != 50 {
		t.Errorf("after an idle minute %d calls passed at once, want 50", n)
	}
}
