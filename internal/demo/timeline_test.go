package demo

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vipd/vipd/internal/vpcsim"
)

// The demo's timeline cuts a failover into detection, AWS and client
// parts that add up to the whole, and the AWS part covers every attempt of
// the acquire (issue 20: api-faults printed "AWS 4 ms" while 1.2 s passed,
// because only the last attempt's steps counted; realistic latency printed
// "AWS 218 ms" inside a 183 ms failover, because overlapping steps were
// summed).
func TestCutAddsUp(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name                      string
		acquiring, routed, served time.Time
		want                      parts
	}{
		{
			name:      "an acquire whose first attempt failed counts from its first start",
			acquiring: at(100), routed: at(1290), served: at(1300),
			want: parts{Detection: ms(100), AWS: ms(1190), Client: ms(10)},
		},
		{
			name:      "a route seen after the client was served is placed at the serving",
			acquiring: at(120), routed: at(190), served: at(183),
			want: parts{Detection: ms(120), AWS: ms(63), Client: 0},
		},
		{
			name:      "an unknown acquiring start leaves the whole wait to AWS",
			acquiring: time.Time{}, routed: at(150), served: at(160),
			want: parts{Detection: 0, AWS: ms(150), Client: ms(10)},
		},
		{
			name:      "an unknown route time leaves nothing to the client",
			acquiring: at(50), routed: time.Time{}, served: at(160),
			want: parts{Detection: ms(50), AWS: ms(110), Client: 0},
		},
		{
			name:      "a route seen before acquiring started counts no AWS time",
			acquiring: at(80), routed: at(60), served: at(90),
			want: parts{Detection: ms(80), AWS: 0, Client: ms(10)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cut(t0, tt.acquiring, tt.routed, tt.served)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("cut(%v, %v, %v) (-want +got):\n%s", tt.acquiring.Sub(t0), tt.routed.Sub(t0), tt.served.Sub(t0), diff)
			}
			if sum := got.Detection + got.AWS + got.Client; sum != tt.served.Sub(t0) {
				t.Errorf("parts add up to %s, want the failover %s", sum, tt.served.Sub(t0))
			}
		})
	}
}

// TestPrintedPartsAddUp: the printed parts, rounded to milliseconds, add
// up to the printed total, whatever the fractions.
func TestPrintedPartsAddUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 20))
	for range 1000 {
		t0 := time.Unix(0, 0)
		acq := t0.Add(time.Duration(rng.Int64N(int64(3 * time.Second))))
		routed := acq.Add(time.Duration(rng.Int64N(int64(2 * time.Second))))
		served := routed.Add(time.Duration(rng.Int64N(int64(100 * time.Millisecond))))
		p := cut(t0, acq, routed, served)
		if whole := served.Truncate(time.Microsecond).Sub(t0); p.Detection+p.AWS+p.Client != whole {
			t.Fatalf("parts add up to %s, want %s", p.Detection+p.AWS+p.Client, whole)
		}
		r := Round{FailoverMS: ms(p.Detection + p.AWS + p.Client), DetectionMS: ms(p.Detection), AWSMS: ms(p.AWS), ClientMS: ms(p.Client)}
		if sum := r.DetectionMS + r.AWSMS + r.ClientMS; math.Abs(sum-r.FailoverMS) > 1e-6 {
			t.Fatalf("%+v: detection_ms + aws_ms + client_ms = %f, want failover_ms %f", r, sum, r.FailoverMS)
		}
		d, a, c := roundedParts(r)
		if d+a+c != math.Round(r.FailoverMS) || d < 0 || a < 0 || c < 0 {
			t.Fatalf("%+v: printed %v + %v + %v, want non-negative parts adding up to %v", r, d, a, c, math.Round(r.FailoverMS))
		}
	}
}

// TestAcquireCalls counts the new primary's EC2 calls during the AWS part,
// every retry included, and names the failed ones; other callers' calls
// and calls outside the part do not count.
func TestAcquireCalls(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	const b = "i-0b000000000000002"
	calls := []vpcsim.Call{
		{Time: at(90), Service: "ec2", Caller: b, Action: "DescribeRouteTables"},                         // before acquiring
		{Time: at(110), Service: "ec2", Caller: b, Action: "DescribeRouteTables", Code: "InternalError"}, // retried
		{Time: at(150), Service: "ec2", Caller: b, Action: "DescribeRouteTables"},                        // the retry
		{Time: at(160), Service: "ec2", Caller: b, Action: "ReplaceRoute", Code: "RequestLimitExceeded"}, // throttled
		{Time: at(700), Service: "ec2", Caller: b, Action: "ReplaceRoute", Code: "RequestLimitExceeded"}, // throttled again
		{Time: at(900), Service: "ec2", Caller: b, Action: "ReplaceRoute"},                               // through
		{Time: at(400), Service: "ec2", Caller: "i-0a000000000000001", Action: "DescribeRouteTables"},    // another node
		{Time: at(500), Service: "dynamodb", Caller: b, Action: "UpdateItem"},                            // not EC2
		{Time: at(1500), Service: "ec2", Caller: b, Action: "DescribeRouteTables"},                       // after the route moved
	}
	got := acquireCalls(calls, b, at(100), at(1000))
	if got.Calls != 5 || got.Writes != 3 {
		t.Errorf("calls %d, writes %d; want 5 and 3", got.Calls, got.Writes)
	}
	if diff := cmp.Diff(map[string]int{"InternalError": 1, "RequestLimitExceeded": 2}, got.codes()); diff != "" {
		t.Errorf("failed calls by code (-want +got):\n%s", diff)
	}
	r := Round{FailoverMS: 1000, DetectionMS: 100, AWSMS: 890, ClientMS: 10, AWSAttempts: got.Calls, AWSErrors: got.codes()}
	want := "failover 1000 ms = detection 100 ms + AWS 890 ms (5 EC2 calls, retried: 1 InternalError, 2 RequestLimitExceeded) + client 10 ms; 0 client errors"
	if line := summaryLine(r); line != want {
		t.Errorf("summary line:\n got %s\nwant %s", line, want)
	}
}
