package ssm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// amiParamPrefix is where AWS publishes the IDs of the latest Amazon Linux
// AMIs as public parameters (Systems Manager User Guide, "Discovering
// public parameters in Parameter Store": "A public parameter name begins
// with aws/service/list ... ami-amazon-linux-latest"), read with
// GetParameter like any other parameter.
const amiParamPrefix = "/aws/service/ami-amazon-linux-latest/"

// amiParams are the public parameters modelled under amiParamPrefix: the
// Amazon Linux 2023 and Amazon Linux 2 images for x86_64 and arm64.
var amiParams = map[string]bool{
	"al2023-ami-kernel-default-x86_64":             true,
	"al2023-ami-kernel-default-arm64":              true,
	"al2023-ami-kernel-6.1-x86_64":                 true,
	"al2023-ami-kernel-6.1-arm64":                  true,
	"al2023-ami-minimal-kernel-default-x86_64":     true,
	"al2023-ami-minimal-kernel-default-arm64":      true,
	"amzn2-ami-hvm-x86_64-gp2":                     true,
	"amzn2-ami-hvm-arm64-gp2":                      true,
	"amzn2-ami-kernel-5.10-hvm-x86_64-gp2":         true,
	"amzn2-ami-kernel-5.10-hvm-arm64-gp2":          true,
	"amzn2-ami-hvm-x86_64-ebs":                     true,
	"amzn2-ami-kernel-default-hvm-x86_64-gp2":      true,
	"amzn2-ami-minimal-hvm-x86_64-ebs":             true,
	"amzn2-ami-kernel-5.10-hvm-x86_64-ebs":         true,
	"amzn2-ami-kernel-default-hvm-arm64-gp2":       true,
	"al2023-ami-minimal-kernel-6.1-x86_64":         true,
	"al2023-ami-minimal-kernel-6.1-arm64":          true,
	"amzn2-ami-minimal-kernel-5.10-hvm-x86_64-ebs": true,
}

// published is when the modelled images were published, the public
// parameters' LastModifiedDate.
var published = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// publicParameter answers GetParameter for a public parameter: its value
// is an AMI ID stable per region and name (vpcsim's EC2 launches any ami-
// image); ok is false for a name that is not one.
func (s *Service) publicParameter(name string) (wireParameter, bool) {
	leaf, found := strings.CutPrefix(name, amiParamPrefix)
	if !found || !amiParams[leaf] {
		return wireParameter{}, false
	}
	sum := sha256.Sum256([]byte(s.opts.Region + "/" + leaf))
	return wireParameter{
		Name: name, Type: typeString, Value: "ami-" + hex.EncodeToString(sum[:])[:17], Version: 1,
		LastModifiedDate: float64(published.Unix()),
		DataType:         "text",
		ARN:              fmt.Sprintf("arn:aws:ssm:%s::parameter%s", s.opts.Region, name),
	}, true
}
