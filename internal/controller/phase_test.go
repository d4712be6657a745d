package controller

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// noEC2 is an EC2 that is never called: the test runs no fleet.
type noEC2 struct{}

func (noEC2) DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	panic("not called")
}

// A fleet spreads its clusters' health checks over one check interval
// (the controller's storm, issue 17): cluster i of n starts its checks
// i/n of an interval late, so that a fault hitting every cluster at once
// is detected by the first clusters about an interval sooner.
func TestFleetStaggersClusters(t *testing.T) {
	ctls := []*Controller{{cfg: Config{Cluster: "a"}}, {cfg: Config{Cluster: "b"}}, {cfg: Config{Cluster: "c"}}, {cfg: Config{Cluster: "d"}}}
	if _, err := NewFleet(ctls, FleetOptions{EC2: noEC2{}}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0, 0.25, 0.5, 0.75} {
		if got := ctls[i].phase; got != want {
			t.Errorf("cluster %d of 4: phase %v, want %v", i, got, want)
		}
	}
}
