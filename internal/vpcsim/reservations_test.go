package vpcsim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// One RunInstances call is one reservation holding every instance it
// launched, each with the image it was launched from and its launch
// index; DescribeInstances answers reservations, listing only the
// instances that match
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html,
// API_DescribeInstances.html, API_Reservation.html). DescribeInstanceStatus
// filters on instance-state-code
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceStatus.html).
func TestReservations(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := regionClient(t, srv, "us-east-1")
	ctx := t.Context()
	two, err := c.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(2), MaxCount: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	one, err := c.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-03cf127a"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Reservations) != 2 {
		t.Fatalf("reservations = %d, want 2 (one per RunInstances call)", len(out.Reservations))
	}
	first := out.Reservations[0]
	if aws.ToString(first.ReservationId) != aws.ToString(two.ReservationId) || len(first.Instances) != 2 {
		t.Errorf("first reservation = %s with %d instances, want %s with 2", aws.ToString(first.ReservationId), len(first.Instances), aws.ToString(two.ReservationId))
	}
	for i, in := range first.Instances {
		if aws.ToString(in.ImageId) != "ami-12c6146b" || aws.ToInt32(in.AmiLaunchIndex) != int32(i) {
			t.Errorf("instance %d: image %s, launch index %d; want ami-12c6146b, %d", i, aws.ToString(in.ImageId), aws.ToInt32(in.AmiLaunchIndex), i)
		}
	}
	byID, err := c.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{InstanceIds: []string{aws.ToString(two.Instances[1].InstanceId)}})
	if err != nil || len(byID.Reservations) != 1 || len(byID.Reservations[0].Instances) != 1 {
		t.Errorf("describe one instance of a two-instance reservation = %+v, %v; want its reservation with just it", byID, err)
	}
	byImage, err := c.DescribeInstances(ctx, &awsec2.DescribeInstancesInput{Filters: []types.Filter{filter("image-id", "ami-03cf127a")}})
	if err != nil || len(byImage.Reservations) != 1 || aws.ToString(byImage.Reservations[0].ReservationId) != aws.ToString(one.ReservationId) {
		t.Errorf("image-id filter = %+v, %v; want the second reservation", byImage, err)
	}
	st, err := c.DescribeInstanceStatus(ctx, &awsec2.DescribeInstanceStatusInput{Filters: []types.Filter{filter("instance-state-code", "16")}})
	if err != nil || len(st.InstanceStatuses) != 3 {
		t.Errorf("status of running instances (code 16) = %+v, %v; want 3", st, err)
	}
}
