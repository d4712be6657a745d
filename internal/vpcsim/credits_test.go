package vpcsim_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/vpcsim"
	"github.com/vipd/vipd/internal/vpcsim/vpcsimtest"
)

// TestInstanceCreditSpecifications follows DescribeInstanceCreditSpecifications:
// named instances get their credit option, and "If you specify an
// instance ID that is not valid, such as an instance that is not a
// burstable performance instance, an error is returned"; without IDs
// only the unlimited ones are listed. The option is the launch default,
// "standard (T2 instances) or unlimited (T3/T3a/T4g instances)" (API
// reference RunInstances, CreditSpecification).
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstanceCreditSpecifications.html
func TestInstanceCreditSpecifications(t *testing.T) {
	srv := vpcsimtest.NewServer(t, &vpcsim.World{DefaultVPC: true})
	c := regionClient(t, srv, "us-west-1")
	ctx := t.Context()
	run := func(it types.InstanceType) string {
		t.Helper()
		out, err := c.RunInstances(ctx, &awsec2.RunInstancesInput{ImageId: aws.String("ami-0a1b2c3d4e5f60718"),
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: it})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Instances[0].InstanceId)
	}
	t2, t3, m5 := run(types.InstanceTypeT2Micro), run(types.InstanceTypeT3Micro), run(types.InstanceTypeM5Large)

	out, err := c.DescribeInstanceCreditSpecifications(ctx, &awsec2.DescribeInstanceCreditSpecificationsInput{InstanceIds: []string{t2, t3}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range out.InstanceCreditSpecifications {
		got[aws.ToString(s.InstanceId)] = aws.ToString(s.CpuCredits)
	}
	if len(got) != 2 || got[t2] != "standard" || got[t3] != "unlimited" {
		t.Errorf("credit options = %v, want %s standard, %s unlimited", got, t2, t3)
	}

	all, err := c.DescribeInstanceCreditSpecifications(ctx, &awsec2.DescribeInstanceCreditSpecificationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.InstanceCreditSpecifications) != 1 || aws.ToString(all.InstanceCreditSpecifications[0].InstanceId) != t3 {
		t.Errorf("without IDs = %+v, want only the unlimited %s", all.InstanceCreditSpecifications, t3)
	}

	_, err = c.DescribeInstanceCreditSpecifications(ctx, &awsec2.DescribeInstanceCreditSpecificationsInput{InstanceIds: []string{m5}})
	if code(t, err) != "InstanceCreditSpecification.NotSupported" {
		t.Errorf("m5.large: %v, want InstanceCreditSpecification.NotSupported", err)
	}
	_, err = c.DescribeInstanceCreditSpecifications(ctx, &awsec2.DescribeInstanceCreditSpecificationsInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	if code(t, err) != "InvalidInstanceID.NotFound" {
		t.Errorf("unknown instance: %v, want InvalidInstanceID.NotFound", err)
	}
}
