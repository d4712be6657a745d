package ec2

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/vipd/vipd/internal/vpcsim/iam"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// World is the content of a world file: the account, network and instances a
// Account starts from (and returns to on reset). References between objects
// (a subnet's VPC, an instance's subnet, a route's target) name either the
// referenced object's ID or its Name.
//
// A World is plain data: the Account copies it and never changes it.
type World struct {
	// Region is the simulated region; default us-east-1.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// AccountID owns every resource; default DefaultAccountID.
	AccountID string `yaml:"account-id,omitempty" json:"account_id,omitempty"`
	// IMDSv1 allows metadata GETs without a session token (IMDSv1). Off by
	// default, as on instances launched with HttpTokens=required.
	IMDSv1 bool `yaml:"imds-v1,omitempty" json:"imds_v1,omitempty"`
	// DefaultVPC adds the default VPC every new AWS account has in every
	// region: 172.31.0.0/16, a default /20 subnet in each zone a to f, a main
	// route table with a route to an internet gateway. RunInstances and
	// CreateSubnet without a subnet or zone then use the first zone's.
	DefaultVPC bool `yaml:"default-vpc,omitempty" json:"default_vpc,omitempty"`

	VPCs              []VPC              `yaml:"vpcs,omitempty" json:"vpcs,omitempty"`
	Subnets           []Subnet           `yaml:"subnets,omitempty" json:"subnets,omitempty"`
	RouteTables       []RouteTable       `yaml:"route-tables,omitempty" json:"route_tables,omitempty"`
	Instances         []Instance         `yaml:"instances,omitempty" json:"instances,omitempty"`
	NetworkInterfaces []NetworkInterface `yaml:"network-interfaces,omitempty" json:"network_interfaces,omitempty"`
	InternetGateways  []InternetGateway  `yaml:"internet-gateways,omitempty" json:"internet_gateways,omitempty"`
	ElasticIPs        []ElasticIP        `yaml:"elastic-ips,omitempty" json:"elastic_ips,omitempty"`
	Volumes           []Volume           `yaml:"volumes,omitempty" json:"volumes,omitempty"`
	Roles             []Role             `yaml:"roles,omitempty" json:"roles,omitempty"`

	// Source names where the world was read from, for error messages.
	Source string `yaml:"-,omitempty" json:"-"`

	// pos maps a YAML path (instances[1].subnet) to "file:line:column".
	pos func(path string) string
}

// VPC is a virtual network. Every VPC gets a main route table (declared in
// RouteTables with main: true, or created empty) holding its local route.
type VPC struct {
	ID   string `yaml:"id,omitempty" json:"id,omitempty"`
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	CIDR string `yaml:"cidr,omitempty" json:"cidr"`
	// IPv6CIDR is the VPC's Amazon-provided IPv6 block: "amazon" takes the
	// next /56 of vpcsim's pool (2001:db8::/32), or a /56 names one.
	IPv6CIDR string `yaml:"ipv6-cidr,omitempty" json:"ipv6_cidr,omitempty"`
	// SecondaryCIDRs are further IPv4 blocks, as AssociateVpcCidrBlock
	// adds them (at most four, /16 to /28, overlapping no other block).
	SecondaryCIDRs []string          `yaml:"secondary-cidrs,omitempty" json:"secondary_cidrs,omitempty"`
	Tags           map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// OwnerID is the account that owns the VPC and its route tables;
	// default the world's account. Another account makes it a shared
	// VPC as AWS VPC sharing does: the world's account is a participant
	// whose instances run in the owner's subnets, and its principals
	// cannot view or change the owner's route tables ("Participants
	// cannot view, modify, or delete resources that belong to other
	// participants or the VPC owner", VPC user guide, "Share your VPC
	// subnets with other accounts"). Only a role of the owner's account,
	// assumed with sts:AssumeRole, can.
	OwnerID string `yaml:"owner-id,omitempty" json:"owner_id,omitempty"`
}

// Subnet lies in one VPC and one availability zone.
type Subnet struct {
	ID   string `yaml:"id,omitempty" json:"id,omitempty"`
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	VPC  string `yaml:"vpc,omitempty" json:"vpc"`
	CIDR string `yaml:"cidr,omitempty" json:"cidr"`
	// AZ is the zone name (us-east-1a) or just its letter (a).
	AZ string `yaml:"az,omitempty" json:"az"`
	// IPv6CIDR is a /64 of the VPC's IPv6 block.
	IPv6CIDR string            `yaml:"ipv6-cidr,omitempty" json:"ipv6_cidr,omitempty"`
	Tags     map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// RouteTable belongs to a VPC. Its local route (the VPC CIDR) is implicit.
type RouteTable struct {
	ID   string `yaml:"id,omitempty" json:"id,omitempty"`
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	VPC  string `yaml:"vpc,omitempty" json:"vpc"`
	// Main makes this the VPC's main table, used by subnets without an
	// explicit association.
	Main bool `yaml:"main,omitempty" json:"main,omitempty"`
	// Subnets are explicitly associated with this table.
	Subnets []string          `yaml:"subnets,omitempty" json:"subnets,omitempty"`
	Routes  []Route           `yaml:"routes,omitempty" json:"routes,omitempty"`
	Tags    map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// Route is a non-local route. Exactly one target is set.
type Route struct {
	Destination      string `yaml:"destination,omitempty" json:"destination"`
	NetworkInterface string `yaml:"network-interface,omitempty" json:"network_interface,omitempty"`
	// Instance targets the instance's only network interface.
	Instance string `yaml:"instance,omitempty" json:"instance,omitempty"`
	// Gateway is an opaque gateway ID (igw-..., vgw-...) that vpcsim does not
	// model further; traffic to it leaves the simulated network.
	Gateway string `yaml:"gateway,omitempty" json:"gateway,omitempty"`
}

// Instance is an EC2 instance with its primary network interface (device
// index 0), which is described by the ENI fields here.
type Instance struct {
	ID   string `yaml:"id,omitempty" json:"id,omitempty"`
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Subnet holds the primary network interface.
	Subnet string `yaml:"subnet,omitempty" json:"subnet"`
	// PrivateIP is the primary interface's primary address; default: the
	// first free address of the subnet after the 4 AWS reserves.
	PrivateIP    string   `yaml:"private-ip,omitempty" json:"private_ip,omitempty"`
	SecondaryIPs []string `yaml:"secondary-ips,omitempty" json:"secondary_ips,omitempty"`
	// IPv6Addresses are the primary interface's IPv6 addresses, of its
	// subnet's /64.
	IPv6Addresses []string `yaml:"ipv6-addresses,omitempty" json:"ipv6_addresses,omitempty"`
	// SourceDestCheck of the primary interface; default true as in AWS.
	SourceDestCheck *bool `yaml:"source-dest-check,omitempty" json:"source_dest_check,omitempty"`
	// State is running (default) or stopped.
	State string `yaml:"state,omitempty" json:"state,omitempty"`
	// Role names the instance profile's role; empty means no credentials.
	Role string `yaml:"role,omitempty" json:"role,omitempty"`
	// InstanceType is reported as is; default t3.micro.
	InstanceType string `yaml:"instance-type,omitempty" json:"instance_type,omitempty"`
	// ENI and MAC identify the primary interface; generated when empty.
	ENI  string            `yaml:"eni-id,omitempty" json:"eni_id,omitempty"`
	MAC  string            `yaml:"mac,omitempty" json:"mac,omitempty"`
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// NetworkInterface is an ENI other than an instance's primary one, either
// available or attached to an instance at DeviceIndex (≥ 1).
type NetworkInterface struct {
	ID              string            `yaml:"id,omitempty" json:"id,omitempty"`
	Name            string            `yaml:"name,omitempty" json:"name,omitempty"`
	Subnet          string            `yaml:"subnet,omitempty" json:"subnet"`
	PrivateIP       string            `yaml:"private-ip,omitempty" json:"private_ip,omitempty"`
	SecondaryIPs    []string          `yaml:"secondary-ips,omitempty" json:"secondary_ips,omitempty"`
	IPv6Addresses   []string          `yaml:"ipv6-addresses,omitempty" json:"ipv6_addresses,omitempty"`
	SourceDestCheck *bool             `yaml:"source-dest-check,omitempty" json:"source_dest_check,omitempty"`
	MAC             string            `yaml:"mac,omitempty" json:"mac,omitempty"`
	Description     string            `yaml:"description,omitempty" json:"description,omitempty"`
	Instance        string            `yaml:"instance,omitempty" json:"instance,omitempty"`
	DeviceIndex     int               `yaml:"device-index,omitempty" json:"device_index,omitempty"`
	Tags            map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// InternetGateway is a route target leaving the simulated network,
// attached to VPC (or detached when empty). Routes may name a gateway by ID
// or Name; an igw- ID that is not declared is kept as an opaque target.
type InternetGateway struct {
	ID   string            `yaml:"id,omitempty" json:"id,omitempty"`
	Name string            `yaml:"name,omitempty" json:"name,omitempty"`
	VPC  string            `yaml:"vpc,omitempty" json:"vpc,omitempty"`
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// ElasticIP is an allocated Elastic IP address, optionally associated with
// a network interface (or an instance's only one) and one of its private
// addresses (default: the primary).
type ElasticIP struct {
	ID               string            `yaml:"id,omitempty" json:"id,omitempty"`
	Name             string            `yaml:"name,omitempty" json:"name,omitempty"`
	PublicIP         string            `yaml:"public-ip,omitempty" json:"public_ip,omitempty"`
	NetworkInterface string            `yaml:"network-interface,omitempty" json:"network_interface,omitempty"`
	Instance         string            `yaml:"instance,omitempty" json:"instance,omitempty"`
	PrivateIP        string            `yaml:"private-ip,omitempty" json:"private_ip,omitempty"`
	Tags             map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// Volume is an EBS volume in one zone, optionally attached to an instance
// at Device.
type Volume struct {
	ID       string            `yaml:"id,omitempty" json:"id,omitempty"`
	Name     string            `yaml:"name,omitempty" json:"name,omitempty"`
	AZ       string            `yaml:"az,omitempty" json:"az"`
	Size     int               `yaml:"size,omitempty" json:"size,omitempty"`
	Type     string            `yaml:"type,omitempty" json:"type,omitempty"`
	Instance string            `yaml:"instance,omitempty" json:"instance,omitempty"`
	Device   string            `yaml:"device,omitempty" json:"device,omitempty"`
	Tags     map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// Role is an IAM role attached to instances. Its policy allows what its
// statements list and nothing else (no deny statements, no conditions).
// Actions and Resources at the role level form one more statement.
//
// A role of another account (Account), or one with a Trust, is a role to
// assume with sts:AssumeRole rather than an instance profile's.
type Role struct {
	Name       string      `yaml:"name,omitempty" json:"name"`
	Actions    []string    `yaml:"actions,omitempty" json:"actions,omitempty"`
	Resources  []string    `yaml:"resources,omitempty" json:"resources,omitempty"`
	Statements []Statement `yaml:"statements,omitempty" json:"statements,omitempty"`
	// Account owns the role (its ARN is arn:aws:iam::<Account>:role/<Name>);
	// default the world's account. Role names are unique in a world.
	Account string `yaml:"account,omitempty" json:"account,omitempty"`
	// Trust says who may assume the role; without it nobody can.
	Trust *Trust `yaml:"trust,omitempty" json:"trust,omitempty"`
	// SessionLifetime, when set, is how long the credentials of this
	// role's sessions stay valid, whatever AssumeRole's DurationSeconds
	// asked (AWS: 900 s to the role's maximum session duration), so that a
	// test sees credentials expire and get refreshed.
	SessionLifetime time.Duration `yaml:"session-lifetime,omitempty" json:"session_lifetime,omitempty"`
}

// DefaultAccountID is a world's account when it names none.
const DefaultAccountID = "123456789012"

// Trust is a role's trust policy (package iam).
type Trust = iam.Trust

// Statement allows Actions ("ec2:ReplaceRoute", wildcards * and ?) on
// Resources (ARN patterns; empty means "*").
type Statement = iam.Statement

// LoadWorld reads and validates the world file at path.
func LoadWorld(path string) (*World, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load world: %w", err)
	}
	return ParseWorld(data, path)
}

// ParseWorld decodes a world file strictly (unknown keys, wrong types and
// duplicate keys are errors) and validates it; name prefixes error positions.
// Every problem found is reported, each as "name:line:column: path: problem".
func ParseWorld(data []byte, name string) (*World, error) {
	if name == "" {
		name = "world"
	}
	var w World
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&w); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse world %s: %w", name, yamlErr(name, err))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse world %s: %w", name, err)
	}
	w.Source = name
	w.pos = func(path string) string {
		n := lookupNode(&root, path)
		if n == nil {
			return name
		}
		return fmt.Sprintf("%s:%d:%d", name, n.Line, n.Column)
	}
	if _, err := buildState(&w, newIDGen()); err != nil {
		return nil, err
	}
	return &w, nil
}

// yamlErr prefixes yaml.v3's "line N: ..." messages with the file name.
func yamlErr(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]error, 0, len(te.Errors))
		for _, m := range te.Errors {
			msgs = append(msgs, fmt.Errorf("%s:%s", name, strings.TrimPrefix(m, "line ")))
		}
		return errors.Join(msgs...)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// lookupNode follows a path such as "instances[2].subnet" or
// "route-tables[0].routes[1]" through a decoded document.
func lookupNode(root *yaml.Node, path string) *yaml.Node {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			continue
		}
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			next := mapValue(n, key)
			if next == nil {
				return n
			}
			n = next
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			if err != nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return n
			}
			n = n.Content[i]
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return n
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// where formats the position of path for a semantic error.
func (w *World) where(path string) string {
	if w.pos != nil {
		return w.pos(path) + ": " + path
	}
	src := w.Source
	if src == "" {
		src = "world"
	}
	return src + ": " + path
}
