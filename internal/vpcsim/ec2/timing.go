package ec2

import (
	"fmt"
	"github.com/vipd/vipd/internal/vpcsim/faults"
	"math"
	"math/rand/v2"
	"time"

	"github.com/vipd/vipd/internal/vpcsim/route53"
)

// Dist is a long-tailed duration: log-normal around Median with shape
// Sigma (0 makes it constant), capped at Max (0: no cap). The zero Dist is
// "instant".
type Dist struct {
	Median time.Duration `json:"median"`
	Sigma  float64       `json:"sigma"`
	Max    time.Duration `json:"max"`
}

// Sample draws one duration.
func (d Dist) Sample() time.Duration {
	if d.Median <= 0 {
		return 0
	}
	v := time.Duration(float64(d.Median) * math.Exp(d.Sigma*rand.NormFloat64()))
	if d.Max > 0 && v > d.Max {
		v = d.Max
	}
	return v
}

// Timing says how long the simulated AWS takes: to answer API calls, and
// to complete the asynchronous transitions that follow some of them. The
// zero Timing answers at once and completes every transition before the
// next call is served, which suits unit tests.
type Timing struct {
	// Describe and Mutate delay answers to read-only and mutating calls.
	Describe Dist `json:"describe"`
	Mutate   Dist `json:"mutate"`
	// Transitions of network interfaces, volumes and instances.
	ENIAttach     Dist `json:"eni_attach"`
	ENIDetach     Dist `json:"eni_detach"`
	VolumeAttach  Dist `json:"volume_attach"`
	VolumeDetach  Dist `json:"volume_detach"`
	InstanceStop  Dist `json:"instance_stop"`
	InstanceStart Dist `json:"instance_start"`
	// Snapshot is how long an EBS snapshot stays pending before it is
	// completed (ebssnapshot.go).
	Snapshot Dist `json:"snapshot"`
	// StaleRoutes is EC2's eventual consistency for route tables: for this
	// long after a route change, DescribeRouteTables may still show the
	// table as it was before (the data plane, Resolve, follows at once).
	// Off in every profile; tests of read-after-write code turn it on.
	StaleRoutes Dist `json:"stale_routes"`
	// Route53Propagation is how long a Route 53 change stays PENDING
	// before GetChange says INSYNC, drawn once per server so that changes
	// to a zone stay in order; route53.Options.PropagationDelay, when set,
	// wins.
	Route53Propagation Dist `json:"route53_propagation"`
	// DynamoDB delays every DynamoDB answer (the dynamodb election's
	// reads and conditional writes).
	DynamoDB Dist `json:"dynamodb"`
}

// TimingProfile returns a named timing profile: "none" (the zero Timing)
// or "realistic", which models what failover code meets on AWS: Describe
// calls around 50 ms and mutating calls around 120 ms with tails to half
// a second and more, ENI attach about 2 s and detach about 3 s, volume
// attach about 3 s and detach about 5 s, a stop about 20 s (Force cuts it
// short, see StopInstances) and a start about 15 s, all long-tailed, and
// Route 53 changes PENDING for about 30 s, at most 60 s: AWS designs
// Route 53 "to propagate updates ... within 60 seconds under normal
// conditions" (Route 53 FAQ), and `aws route53 wait
// resource-record-sets-changed` polls every 30 s. An EBS snapshot is
// pending for about two minutes, with a tail to half an hour: "the
// status of the snapshot is pending until the snapshot is complete"
// (EBS user guide, "Create Amazon EBS snapshots"), and a first snapshot
// copies every written block. DynamoDB answers in
// about 6 ms with a tail to a few hundred: AWS sells it as "single-digit
// millisecond performance at any scale" (Amazon DynamoDB Developer Guide,
// "What is Amazon DynamoDB?"), measured from within the Region. The
// numbers are orders of magnitude from public reports, not measurements.
func TimingProfile(name string) (Timing, error) {
	switch name {
	case "", "none":
		return Timing{}, nil
	case "realistic":
		return Timing{
			Describe:           Dist{Median: 50 * time.Millisecond, Sigma: 0.5, Max: 2 * time.Second},
			Mutate:             Dist{Median: 120 * time.Millisecond, Sigma: 0.6, Max: 3 * time.Second},
			ENIAttach:          Dist{Median: 2 * time.Second, Sigma: 0.4, Max: 15 * time.Second},
			ENIDetach:          Dist{Median: 3 * time.Second, Sigma: 0.5, Max: 30 * time.Second},
			VolumeAttach:       Dist{Median: 3 * time.Second, Sigma: 0.4, Max: 30 * time.Second},
			VolumeDetach:       Dist{Median: 5 * time.Second, Sigma: 0.5, Max: 60 * time.Second},
			InstanceStop:       Dist{Median: 20 * time.Second, Sigma: 0.4, Max: 120 * time.Second},
			InstanceStart:      Dist{Median: 15 * time.Second, Sigma: 0.3, Max: 60 * time.Second},
			Snapshot:           Dist{Median: 2 * time.Minute, Sigma: 0.6, Max: 30 * time.Minute},
			Route53Propagation: Dist{Median: 30 * time.Second, Sigma: 0.3, Max: route53.AWSPropagationDelay},
			DynamoDB:           Dist{Median: 6 * time.Millisecond, Sigma: 0.6, Max: 500 * time.Millisecond},
		}, nil
	}
	return Timing{}, fmt.Errorf("timing profile %q is not none or realistic", name)
}

// throttle category of an action, after "Request throttling for the Amazon
// EC2 API" (EC2 API reference): each action has its own token bucket per
// account and region, sized by category.
var (
	describeBucket   = faults.Bucket{Capacity: 100, Refill: 20}
	unfilteredBucket = faults.Bucket{Capacity: 50, Refill: 10}
	mutateBucket     = faults.Bucket{Capacity: 50, Refill: 5}
	// AssignPrivateIpAddresses and friends form their own category.
	ipBucket = faults.Bucket{Capacity: 100, Refill: 5}
)

// bucketFor names the token bucket an EC2 action draws from, with AWS's
// published sizes.
func bucketFor(action string, unfiltered bool) (key string, size faults.Bucket) {
	switch {
	case action == "AssignPrivateIpAddresses" || action == "UnassignPrivateIpAddresses":
		return action, ipBucket
	case isDescribe(action) && unfiltered:
		// Unfiltered, unpaginated Describe calls draw from a smaller bucket.
		return action + "/unfiltered", unfilteredBucket
	case isDescribe(action):
		return action, describeBucket
	}
	return action, mutateBucket
}

func isDescribe(action string) bool {
	return len(action) > 8 && action[:8] == "Describe"
}
