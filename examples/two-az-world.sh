#!/usr/bin/env bash
# Builds, on an empty vpcsim, the two-AZ world of an overlay-route failover
# with the AWS CLI, then routes the virtual IP 192.168.100.10 to node-a.
# Run it against a simulator:
#
#   go run ./cmd/vpcsim --listen 127.0.0.1:4566 --timing none &
#   export AWS_ACCESS_KEY_ID=vpcsim-admin AWS_SECRET_ACCESS_KEY=vpcsim-admin-secret \
#          AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
#   VPCSIM_URL=http://127.0.0.1:4566 examples/two-az-world.sh
#   curl -s http://127.0.0.1:4566/_sim/world > my-world.yaml   # snapshot it
set -euo pipefail
ec2() { aws --endpoint-url "${VPCSIM_URL:?set VPCSIM_URL to the simulator}" ec2 "$@"; }

vpc=$(ec2 create-vpc --cidr-block 10.0.0.0/16 --query Vpc.VpcId --output text)
ec2 modify-vpc-attribute --vpc-id "$vpc" --enable-dns-hostnames
a=$(ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.1.0/24 --availability-zone us-east-1a --query Subnet.SubnetId --output text)
b=$(ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.0.2.0/24 --availability-zone us-east-1b --query Subnet.SubnetId --output text)
igw=$(ec2 create-internet-gateway --query InternetGateway.InternetGatewayId --output text)
ec2 attach-internet-gateway --internet-gateway-id "$igw" --vpc-id "$vpc"
rtb=$(ec2 describe-route-tables --filters "Name=vpc-id,Values=$vpc" Name=association.main,Values=true \
	--query 'RouteTables[0].RouteTableId' --output text)
ec2 create-route --route-table-id "$rtb" --destination-cidr-block 0.0.0.0/0 --gateway-id "$igw" > /dev/null
na=$(ec2 run-instances --image-id ami-0a1b2c3d4e5f60718 --count 1 --subnet-id "$a" --private-ip-address 10.0.1.10 \
	--query 'Instances[0].InstanceId' --output text)
nb=$(ec2 run-instances --image-id ami-0a1b2c3d4e5f60718 --count 1 --subnet-id "$b" --private-ip-address 10.0.2.10 \
	--query 'Instances[0].InstanceId' --output text)
ec2 modify-instance-attribute --instance-id "$na" --no-source-dest-check
ec2 modify-instance-attribute --instance-id "$nb" --no-source-dest-check
ec2 create-route --route-table-id "$rtb" --destination-cidr-block 192.168.100.10/32 --instance-id "$na" > /dev/null
echo "vpc=$vpc subnet_a=$a subnet_b=$b route_table=$rtb node_a=$na node_b=$nb"
