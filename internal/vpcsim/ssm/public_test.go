package ssm_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// TestPublicAMIParameters: the latest Amazon Linux AMIs are public
// parameters under /aws/service/ami-amazon-linux-latest/, read with
// GetParameter (Systems Manager User Guide, "Discovering public parameters
// in Parameter Store"); other names under /aws stay reserved, and a
// caller still cannot write there.
func TestPublicAMIParameters(t *testing.T) {
	c, _ := client(t)
	ctx := t.Context()
	name := "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64"
	out, err := c.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Parameter
	if !strings.HasPrefix(aws.ToString(p.Value), "ami-") || p.Type != types.ParameterTypeString || aws.ToString(p.Name) != name {
		t.Errorf("public parameter %+v", p)
	}
	again, err := c.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String(name)})
	if err != nil || aws.ToString(again.Parameter.Value) != aws.ToString(p.Value) {
		t.Errorf("second read: %v %v, want the same AMI", again, err)
	}
	if _, err := c.GetParameter(ctx, &awsssm.GetParameterInput{Name: aws.String("/aws/service/ami-amazon-linux-latest/no-such-image")}); err == nil {
		t.Error("an unpublished name under /aws was answered")
	}
	_, err = c.PutParameter(ctx, &awsssm.PutParameterInput{Name: aws.String(name), Value: aws.String("ami-1"), Type: types.ParameterTypeString, Overwrite: aws.Bool(true)})
	if err == nil {
		t.Error("PutParameter over a public parameter succeeded")
	}
}
