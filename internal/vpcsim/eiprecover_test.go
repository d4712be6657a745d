package vpcsim_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestAllocateAddressNamesNoAddress: AllocateAddress's Address is "The
// Elastic IP address to recover or an IPv4 address from an address pool"
// (API reference, AllocateAddress). vpcsim models neither, so it refuses
// the parameter instead of handing out another address than the one
// asked for.
func TestAllocateAddressNamesNoAddress(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	_, err := e.ec2.AllocateAddress(ctx, &awsec2.AllocateAddressInput{Domain: types.DomainTypeVpc, Address: aws.String("198.51.100.77")})
	if got := code(t, err); got != "InvalidParameterValue" || !strings.Contains(err.Error(), "does not model") {
		t.Fatalf("AllocateAddress with Address: %v, want InvalidParameterValue naming what vpcsim does not model", err)
	}
	a, err := e.ec2.AllocateAddress(ctx, &awsec2.AllocateAddressInput{Domain: types.DomainTypeVpc, PublicIpv4Pool: aws.String("amazon")})
	if err != nil || aws.ToString(a.PublicIpv4Pool) != "amazon" {
		t.Fatalf("AllocateAddress from Amazon's pool: %+v, %v", a, err)
	}
}

// TestAssociateRouteTableWithGateway: AssociateRouteTable takes a subnet
// or "an internet gateway or virtual private gateway" (API reference,
// AssociateRouteTable). vpcsim models gateway route tables for internet
// gateways (TestGatewayRouteTable): an unknown one is
// InvalidGatewayID.NotFound; it says it does not model virtual private
// gateways rather than answering that SubnetId is missing.
func TestAssociateRouteTableWithGateway(t *testing.T) {
	e := newEnv(t)
	_, err := e.ec2.AssociateRouteTable(t.Context(), &awsec2.AssociateRouteTableInput{RouteTableId: aws.String(rtbA), GatewayId: aws.String("igw-0a0000000000000a1")})
	if got := code(t, err); got != "InvalidGatewayID.NotFound" {
		t.Fatalf("AssociateRouteTable with an unknown internet gateway: %v", err)
	}
	_, err = e.ec2.AssociateRouteTable(t.Context(), &awsec2.AssociateRouteTableInput{RouteTableId: aws.String(rtbA), GatewayId: aws.String("vgw-0a0000000000000a1")})
	if got := code(t, err); got != "InvalidParameterValue" || !strings.Contains(err.Error(), "internet gateways only") {
		t.Fatalf("AssociateRouteTable with a virtual private gateway: %v", err)
	}
}
