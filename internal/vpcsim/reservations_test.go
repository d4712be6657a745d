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

// Termination and stop protection refuse TerminateInstances and
// StopInstances with OperationNotPermitted until the attribute is
// cleared, and the instance type changes only while the instance is
// stopped (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceAttribute.html:
// "To change the instance type, the instance must be stopped";
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-stop-protection.html,
// terminating-instances.html#Using_ChangingDisableAPITermination).
func TestInstanceProtection(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := regionClient(t, srv, "us-east-1")
	ctx := t.Context()
	run, err := c.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), DisableApiStop: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	id := run.Instances[0].InstanceId
	ids := []string{aws.ToString(id)}
	if _, err := c.StopInstances(ctx, &awsec2.StopInstancesInput{InstanceIds: ids}); code(t, err) != "OperationNotPermitted" {
		t.Errorf("stop a stop-protected instance: %v, want OperationNotPermitted", err)
	}
	if _, err := c.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: id, InstanceType: &types.AttributeValue{Value: aws.String("m5.large")}}); code(t, err) != "IncorrectInstanceState" {
		t.Errorf("change the type of a running instance: %v, want IncorrectInstanceState", err)
	}
	if _, err := c.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: id, DisableApiStop: &types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: id, DisableApiTermination: &types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StopInstances(ctx, &awsec2.StopInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatalf("stop after clearing disableApiStop: %v", err)
	}
	if _, err := c.TerminateInstances(ctx, &awsec2.TerminateInstancesInput{InstanceIds: ids}); code(t, err) != "OperationNotPermitted" {
		t.Errorf("terminate a termination-protected instance: %v, want OperationNotPermitted", err)
	}
	if _, err := c.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: id, InstanceType: &types.AttributeValue{Value: aws.String("m5.large")}}); err != nil {
		t.Errorf("change the type of a stopped instance: %v", err)
	}
	attr, err := c.DescribeInstanceAttribute(ctx, &awsec2.DescribeInstanceAttributeInput{InstanceId: id, Attribute: types.InstanceAttributeNameInstanceType})
	if err != nil || aws.ToString(attr.InstanceType.Value) != "m5.large" {
		t.Errorf("instance type after the change = %+v, %v; want m5.large", attr, err)
	}
	if _, err := c.ModifyInstanceAttribute(ctx, &awsec2.ModifyInstanceAttributeInput{InstanceId: id, Attribute: types.InstanceAttributeNameDisableApiTermination, Value: aws.String("false")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TerminateInstances(ctx, &awsec2.TerminateInstancesInput{InstanceIds: ids}); err != nil {
		t.Errorf("terminate after clearing disableApiTermination: %v", err)
	}
}
