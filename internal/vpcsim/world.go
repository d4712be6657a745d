package vpcsim

import "github.com/vipd/vipd/internal/vpcsim/ec2"

// The world file, state snapshot and timing types live in package ec2,
// which owns the account; these names keep vpcsim's API.
type (
	// World is a world file: the account's EC2 state and roles.
	World = ec2.World
	// VPC, Subnet, RouteTable, Route, Instance, NetworkInterface,
	// InternetGateway, ElasticIP, Volume, Role and Statement are its
	// parts.
	VPC              = ec2.VPC
	Subnet           = ec2.Subnet
	RouteTable       = ec2.RouteTable
	Route            = ec2.Route
	Instance         = ec2.Instance
	NetworkInterface = ec2.NetworkInterface
	InternetGateway  = ec2.InternetGateway
	ElasticIP        = ec2.ElasticIP
	Volume           = ec2.Volume
	Role             = ec2.Role
	Statement        = ec2.Statement
	Trust            = ec2.Trust

	// State is a snapshot of the account, as GET /_sim/state returns it;
	// the other *State types are its parts.
	State                 = ec2.State
	VPCState              = ec2.VPCState
	SubnetState           = ec2.SubnetState
	RouteTableState       = ec2.RouteTableState
	RouteState            = ec2.RouteState
	InstanceState         = ec2.InstanceState
	NetworkInterfaceState = ec2.NetworkInterfaceState
	ElasticIPState        = ec2.ElasticIPState
	VolumeState           = ec2.VolumeState

	// Timing says how long the simulated AWS takes; Dist is one
	// long-tailed duration of it.
	Timing = ec2.Timing
	Dist   = ec2.Dist
)

// DefaultAccountID is a world's account when it names none.
const DefaultAccountID = ec2.DefaultAccountID

// Errors of Resolve.
var (
	ErrNotFound        = ec2.ErrNotFound
	ErrNoRoute         = ec2.ErrNoRoute
	ErrBlackhole       = ec2.ErrBlackhole
	ErrSourceDestCheck = ec2.ErrSourceDestCheck
)

// LoadWorld reads and validates the world file at path.
func LoadWorld(path string) (*World, error) { return ec2.LoadWorld(path) }

// ParseWorld parses and validates a world file's content; name appears
// in error positions.
func ParseWorld(data []byte, name string) (*World, error) { return ec2.ParseWorld(data, name) }

// MarshalWorld writes a world as a world file (YAML).
func MarshalWorld(w *World) ([]byte, error) { return ec2.MarshalWorld(w) }

// TimingProfile returns a named timing profile: "none" or "realistic"
// (see ec2.TimingProfile).
func TimingProfile(name string) (Timing, error) { return ec2.TimingProfile(name) }
