package ec2

import (
	"cmp"
	"fmt"
	"slices"
)

// State is a snapshot of the simulated account, as GET /_sim/state
// returns it.
type State struct {
	Region            string                  `json:"region"`
	AccountID         string                  `json:"account_id"`
	VPCs              []VPCState              `json:"vpcs"`
	Subnets           []SubnetState           `json:"subnets"`
	RouteTables       []RouteTableState       `json:"route_tables"`
	Instances         []InstanceState         `json:"instances"`
	NetworkInterfaces []NetworkInterfaceState `json:"network_interfaces"`
	ElasticIPs        []ElasticIPState        `json:"elastic_ips"`
	Volumes           []VolumeState           `json:"volumes"`
}

// ElasticIPState is one Elastic IP and its association, if any.
type ElasticIPState struct {
	ID               string `json:"id"`
	PublicIP         string `json:"public_ip"`
	AssociationID    string `json:"association_id,omitempty"`
	NetworkInterface string `json:"network_interface,omitempty"`
	PrivateIP        string `json:"private_ip,omitempty"`
	Instance         string `json:"instance,omitempty"`
}

// VolumeState is one EBS volume and its attachment, if any.
type VolumeState struct {
	ID               string `json:"id"`
	AZ               string `json:"az"`
	Size             int    `json:"size"`
	State            string `json:"state"`
	Instance         string `json:"instance,omitempty"`
	Device           string `json:"device,omitempty"`
	AttachmentStatus string `json:"attachment_status,omitempty"`
}

// VPCState is one VPC.
type VPCState struct {
	ID   string `json:"id"`
	CIDR string `json:"cidr"`
	// IPv6CIDR is the VPC's IPv6 block, "" without one.
	IPv6CIDR string            `json:"ipv6_cidr,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
}

// SubnetState is one subnet.
type SubnetState struct {
	ID   string `json:"id"`
	VPC  string `json:"vpc"`
	CIDR string `json:"cidr"`
	AZ   string `json:"az"`
	// IPv6CIDR is the subnet's /64, "" without one.
	IPv6CIDR string            `json:"ipv6_cidr,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
}

// RouteTableState is one route table with its routes, local route first.
type RouteTableState struct {
	ID      string            `json:"id"`
	VPC     string            `json:"vpc"`
	Main    bool              `json:"main"`
	Subnets []string          `json:"subnets,omitempty"`
	Routes  []RouteState      `json:"routes"`
	Tags    map[string]string `json:"tags,omitempty"`
}

// RouteState is one route. Target is "local", a gateway ID or the
// network interface ID; InstanceID is the instance that interface is
// attached to.
type RouteState struct {
	Destination        string `json:"destination"`
	Target             string `json:"target"`
	NetworkInterfaceID string `json:"network_interface_id,omitempty"`
	InstanceID         string `json:"instance_id,omitempty"`
	State              string `json:"state"`
	Origin             string `json:"origin"`
}

// InstanceState is one instance.
type InstanceState struct {
	ID              string            `json:"id"`
	Name            string            `json:"name,omitempty"`
	State           string            `json:"state"`
	Subnet          string            `json:"subnet"`
	AZ              string            `json:"az"`
	PrivateIP       string            `json:"private_ip"`
	SourceDestCheck bool              `json:"source_dest_check"`
	Role            string            `json:"role,omitempty"`
	ENIs            []string          `json:"enis"`
	IMDSURL         string            `json:"imds_url,omitempty"`
	IMDSDown        bool              `json:"imds_down,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
}

// NetworkInterfaceState is one ENI.
type NetworkInterfaceState struct {
	ID               string   `json:"id"`
	Subnet           string   `json:"subnet"`
	VPC              string   `json:"vpc"`
	AZ               string   `json:"az"`
	MAC              string   `json:"mac"`
	PrivateIP        string   `json:"private_ip"`
	SecondaryIPs     []string `json:"secondary_ips,omitempty"`
	IPv6Addresses    []string `json:"ipv6_addresses,omitempty"`
	SourceDestCheck  bool     `json:"source_dest_check"`
	Status           string   `json:"status"`
	Instance         string   `json:"instance,omitempty"`
	DeviceIndex      int      `json:"device_index"`
	AttachmentStatus string   `json:"attachment_status,omitempty"`
}

// Snapshot returns a copy of the current state.
func (s *Account) Snapshot() State {
	st := s.lockState()
	defer s.unlockState()
	out := State{Region: st.region, AccountID: st.account,
		VPCs: []VPCState{}, Subnets: []SubnetState{}, RouteTables: []RouteTableState{}, Instances: []InstanceState{}, NetworkInterfaces: []NetworkInterfaceState{}}
	for _, v := range st.vpcs {
		x := VPCState{ID: v.id, CIDR: v.cidr.String(), Tags: cloneTags(v.tags)}
		if v.ipv6.cidr.IsValid() {
			x.IPv6CIDR = v.ipv6.cidr.String()
		}
		out.VPCs = append(out.VPCs, x)
	}
	for _, sn := range st.subnets {
		x := SubnetState{ID: sn.id, VPC: sn.vpc, CIDR: sn.cidr.String(), AZ: sn.az, Tags: cloneTags(sn.tags)}
		if sn.ipv6.cidr.IsValid() {
			x.IPv6CIDR = sn.ipv6.cidr.String()
		}
		out.Subnets = append(out.Subnets, x)
	}
	for _, t := range st.tables {
		x := RouteTableState{ID: t.id, VPC: t.vpc, Main: t.main, Tags: cloneTags(t.tags), Routes: []RouteState{}}
		for _, a := range t.assocs {
			if a.subnet != "" {
				x.Subnets = append(x.Subnets, a.subnet)
			}
		}
		for _, r := range t.routes {
			xr := st.xRoute(r)
			target := cmp.Or(xr.GatewayID, r.exit(), xr.NetworkInterfaceID)
			x.Routes = append(x.Routes, RouteState{Destination: r.dest().String(), Target: target,
				NetworkInterfaceID: xr.NetworkInterfaceID, InstanceID: xr.InstanceID, State: xr.State, Origin: xr.Origin})
		}
		out.RouteTables = append(out.RouteTables, x)
	}
	for _, in := range st.insts {
		x := InstanceState{ID: in.id, Name: in.tags["Name"], State: in.state, Subnet: in.subnet, Role: in.role,
			ENIs: slices.Clone(in.enis), IMDSDown: in.imdsDown, Tags: cloneTags(in.tags), SourceDestCheck: true}
		if p := st.primaryENI(in); p != nil {
			x.AZ, x.PrivateIP, x.SourceDestCheck = p.az, p.ip.String(), p.sdc
		}
		x.IMDSURL = s.opts.IMDSURL(in.id)
		out.Instances = append(out.Instances, x)
	}
	for _, e := range st.enis {
		x := NetworkInterfaceState{ID: e.id, Subnet: e.subnet, VPC: e.vpc, AZ: e.az, MAC: e.mac, PrivateIP: e.ip.String(),
			SourceDestCheck: e.sdc, Status: eniStatus(e)}
		for _, a := range e.secondary {
			x.SecondaryIPs = append(x.SecondaryIPs, a.String())
		}
		for _, a := range e.ipv6 {
			x.IPv6Addresses = append(x.IPv6Addresses, a.String())
		}
		if e.attach != nil {
			x.Instance, x.DeviceIndex, x.AttachmentStatus = e.attach.instance, e.attach.index, e.attach.status
		}
		out.NetworkInterfaces = append(out.NetworkInterfaces, x)
	}
	out.ElasticIPs, out.Volumes = []ElasticIPState{}, []VolumeState{}
	for _, e := range st.eips {
		a := st.xAddress(e)
		out.ElasticIPs = append(out.ElasticIPs, ElasticIPState{ID: e.id, PublicIP: a.PublicIP, AssociationID: a.AssociationID,
			NetworkInterface: a.NetworkInterfaceID, PrivateIP: a.PrivateIPAddress, Instance: a.InstanceID})
	}
	for _, v := range st.vols {
		x := VolumeState{ID: v.id, AZ: v.az, Size: v.size, State: v.state}
		if v.attach != nil {
			x.Instance, x.Device, x.AttachmentStatus = v.attach.instance, v.attach.device, v.attach.status
		}
		out.Volumes = append(out.Volumes, x)
	}
	return out
}

func cloneTags(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// SetIMDS takes an instance's metadata service down (connections drop) or
// brings it back up.
func (s *Account) SetIMDS(instanceID string, up bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.st.instance(instanceID)
	if in == nil {
		return fmt.Errorf("set imds of %s: instance: %w", instanceID, ErrNotFound)
	}
	in.imdsDown = !up
	return nil
}

// SetInstanceState stops ("stopped") or starts ("running") an instance at
// once, as a crash or an operator outside the API would. A stopped
// instance keeps its interfaces; routes to it turn blackhole and its IMDS
// stops answering.
func (s *Account) SetInstanceState(instanceID, to string) error {
	if to != "running" && to != "stopped" {
		return fmt.Errorf("set state of %s: state %q is not running or stopped", instanceID, to)
	}
	err := s.mutate(func(st *state) error {
		in := st.instance(instanceID)
		if in == nil {
			return fmt.Errorf("set state of %s: instance: %w", instanceID, ErrNotFound)
		}
		in.state = to
		return nil
	})
	return err
}
