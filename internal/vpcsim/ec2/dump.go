package ec2

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"go.yaml.in/yaml/v3"
)

// World returns the current state as a world, so that a test can start
// another server from a snapshot. Transitions in flight are written as
// their end state (attaching as attached, stopping as stopped, pending as
// running); detaching attachments and terminated instances are left out.
// References use IDs; a Name tag becomes the object's Name. A default VPC
// is written as an ordinary VPC with its subnets and gateway.
func (s *Account) World() *World {
	st := s.lockState()
	defer s.unlockState()
	w := &World{Region: st.region, AccountID: st.account, IMDSv1: st.imdsV1}
	split := func(tags map[string]string) (string, map[string]string) {
		rest := maps.Clone(tags)
		name := rest["Name"]
		delete(rest, "Name")
		if len(rest) == 0 {
			rest = nil
		}
		return name, rest
	}
	ips := func(as []netip.Addr) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.String())
		}
		return out
	}
	boolp := func(b bool) *bool { return &b }

	for _, v := range st.vpcs {
		name, tags := split(v.tags)
		x := VPC{ID: v.id, Name: name, CIDR: v.cidr.String(), Tags: tags, OwnerID: v.owner}
		for _, b := range v.secondary {
			x.SecondaryCIDRs = append(x.SecondaryCIDRs, b.cidr.String())
		}
		if v.ipv6.cidr.IsValid() {
			x.IPv6CIDR = v.ipv6.cidr.String()
		}
		w.VPCs = append(w.VPCs, x)
	}
	for _, sn := range st.subnets {
		name, tags := split(sn.tags)
		x := Subnet{ID: sn.id, Name: name, VPC: sn.vpc, CIDR: sn.cidr.String(), AZ: sn.az, Tags: tags}
		if sn.ipv6.cidr.IsValid() {
			x.IPv6CIDR = sn.ipv6.cidr.String()
		}
		w.Subnets = append(w.Subnets, x)
	}
	live := func(in *instance) bool { return in != nil && in.state != "terminated" && in.state != "shutting-down" }
	for _, in := range st.insts {
		if !live(in) {
			continue
		}
		name, tags := split(in.tags)
		x := Instance{ID: in.id, Name: name, Role: in.role, InstanceType: in.instanceType, Tags: tags, State: "running"}
		if in.state == "stopped" || in.state == "stopping" {
			x.State = "stopped"
		}
		if p := st.primaryENI(in); p != nil {
			x.Subnet, x.PrivateIP, x.SecondaryIPs = p.subnet, p.ip.String(), ips(p.secondary)
			x.SourceDestCheck, x.ENI, x.MAC = boolp(p.sdc), p.id, p.mac
			x.IPv6Addresses = ips(p.ipv6)
		}
		w.Instances = append(w.Instances, x)
	}
	for _, e := range st.enis {
		if e.attach != nil && e.attach.primary {
			continue // written with its instance
		}
		name, tags := split(e.tags)
		x := NetworkInterface{ID: e.id, Name: name, Subnet: e.subnet, PrivateIP: e.ip.String(), SecondaryIPs: ips(e.secondary), IPv6Addresses: ips(e.ipv6),
			SourceDestCheck: boolp(e.sdc), MAC: e.mac, Description: e.description, Tags: tags}
		if a := e.attach; a != nil && a.status != "detaching" && live(st.instance(a.instance)) {
			x.Instance, x.DeviceIndex = a.instance, a.index
		}
		w.NetworkInterfaces = append(w.NetworkInterfaces, x)
	}
	for _, t := range st.tables {
		name, tags := split(t.tags)
		x := RouteTable{ID: t.id, Name: name, VPC: t.vpc, Main: t.main, Tags: tags}
		for _, a := range t.assocs {
			if a.subnet != "" {
				x.Subnets = append(x.Subnets, a.subnet)
			}
		}
		for _, r := range t.routes {
			switch {
			case r.local:
			case r.gateway != "":
				x.Routes = append(x.Routes, Route{Destination: r.dst.String(), Gateway: r.gateway})
			case st.eni(r.eni) != nil:
				x.Routes = append(x.Routes, Route{Destination: r.dst.String(), NetworkInterface: r.eni})
			}
		}
		w.RouteTables = append(w.RouteTables, x)
	}
	for _, g := range st.igws {
		name, tags := split(g.tags)
		w.InternetGateways = append(w.InternetGateways, InternetGateway{ID: g.id, Name: name, VPC: g.vpc, Tags: tags})
	}
	for _, e := range st.eips {
		name, tags := split(e.tags)
		x := ElasticIP{ID: e.id, Name: name, PublicIP: e.ip.String(), Tags: tags}
		if e.eni != "" {
			x.NetworkInterface, x.PrivateIP = e.eni, e.privateIP.String()
		}
		w.ElasticIPs = append(w.ElasticIPs, x)
	}
	for _, v := range st.vols {
		name, tags := split(v.tags)
		x := Volume{ID: v.id, Name: name, AZ: v.az, Size: v.size, Type: v.vtype, Tags: tags}
		if a := v.attach; a != nil && a.status != "detaching" && live(st.instance(a.instance)) {
			x.Instance, x.Device = a.instance, a.device
		}
		w.Volumes = append(w.Volumes, x)
	}
	for _, name := range slices.Sorted(maps.Keys(st.roles)) {
		rl := st.roles[name]
		x := Role{Name: name, Statements: slices.Clone(rl.stmts), Account: rl.account, SessionLifetime: rl.lifetime}
		if rl.trust != nil {
			t := *rl.trust
			t.Principals = slices.Clone(t.Principals)
			x.Trust = &t
		}
		w.Roles = append(w.Roles, x)
	}
	return w
}

// MarshalWorld writes a world as YAML that ParseWorld reads back.
func MarshalWorld(w *World) ([]byte, error) {
	b, err := yaml.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("marshal world: %w", err)
	}
	return b, nil
}
