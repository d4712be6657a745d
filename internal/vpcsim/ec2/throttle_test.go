package ec2

import (
	"testing"

	"github.com/vipd/vipd/internal/vpcsim/faults"
)

// TestThrottleBuckets: vpcsim throttles as "Request throttling for the
// Amazon EC2 API" (https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html)
// describes it: request rate limiting evaluates each API on its own ("each
// request that you make removes one token from the API's bucket ...
// requests for other API are not affected"), with a bucket per action
// sized by its category: mutating actions (ReplaceRoute, CreateRoute,
// AssociateAddress, AttachNetworkInterface) hold 50 tokens refilled at 5
// a second; non-mutating actions 100 at 20 (the page's DescribeHosts
// example), unfiltered and unpaginated ones 50 at 10; the private IP
// assignment actions 100 at 5. The storm benchmark's floor (bench) rests
// on the mutating figures.
func TestThrottleBuckets(t *testing.T) {
	for _, tc := range []struct {
		action     string
		unfiltered bool
		want       faults.Bucket
	}{
		{"ReplaceRoute", false, faults.Bucket{Capacity: 50, Refill: 5}},
		{"CreateRoute", false, faults.Bucket{Capacity: 50, Refill: 5}},
		{"AssociateAddress", false, faults.Bucket{Capacity: 50, Refill: 5}},
		{"AttachNetworkInterface", false, faults.Bucket{Capacity: 50, Refill: 5}},
		{"AssignPrivateIpAddresses", false, faults.Bucket{Capacity: 100, Refill: 5}},
		{"UnassignPrivateIpAddresses", false, faults.Bucket{Capacity: 100, Refill: 5}},
		{"DescribeRouteTables", false, faults.Bucket{Capacity: 100, Refill: 20}},
		{"DescribeRouteTables", true, faults.Bucket{Capacity: 50, Refill: 10}},
	} {
		key, got := bucketFor(tc.action, tc.unfiltered)
		if got != tc.want {
			t.Errorf("bucket of %s (unfiltered %v) = %+v, want %+v", tc.action, tc.unfiltered, got, tc.want)
		}
		if want := tc.action; !tc.unfiltered && key != want {
			t.Errorf("bucket key of %s = %q, want its own %q", tc.action, key, want)
		}
	}
}
