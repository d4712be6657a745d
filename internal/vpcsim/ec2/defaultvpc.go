package ec2

import (
	"net/http"
	"net/netip"
	"slices"
)

// CreateDefaultVpc and CreateDefaultSubnet bring back what an account
// had from the start (VPC user guide, "Default VPCs": "If you delete your
// default VPC, you can create a new one").

func init() {
	for name, spec := range map[string]actionSpec{
		"CreateDefaultVpc":    {run: (*Account).createDefaultVpc},
		"CreateDefaultSubnet": {run: (*Account).createDefaultSubnet},
	} {
		if _, dup := actions[name]; dup {
			panic("ec2: action " + name + " registered twice")
		}
		actions[name] = spec
	}
}

func (st *state) defaultVPCOf() *vpc {
	i := slices.IndexFunc(st.vpcs, func(v *vpc) bool { return v.isDefault })
	if i < 0 {
		return nil
	}
	return st.vpcs[i]
}

// createDefaultVpc creates a default VPC with a default subnet in each
// zone (API reference, CreateDefaultVpc: "Creates a default VPC with a
// size /16 IPv4 CIDR block and a default subnet in each Availability
// Zone"); a region has at most one (DefaultVpcAlreadyExists).
func (s *Account) createDefaultVpc(r *request) (any, error) {
	out := &createVpcResp{}
	err := s.mutateIn(r, func(st *state) error {
		if st.defaultVPCOf() != nil {
			return errorf(http.StatusBadRequest, "DefaultVpcAlreadyExists", "A Default VPC already exists for this account in this region.")
		}
		v := st.addDefaultVPC(s.ids)
		st.addDefaultGroup(s.ids, v.id)
		out.Vpc = st.xVpc(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// createDefaultSubnet creates the default subnet of a zone in the default
// VPC: "a size /20 IPv4 CIDR block ... You can have only one default
// subnet per Availability Zone" (API reference, CreateDefaultSubnet;
// DefaultSubnetAlreadyExistsInAvailabilityZone), the lowest /20 of the
// VPC that no subnet uses; AvailabilityZone or AvailabilityZoneId, "but
// not both".
func (s *Account) createDefaultSubnet(r *request) (any, error) {
	name, id := r.get("AvailabilityZone"), r.get("AvailabilityZoneId")
	switch {
	case name != "" && id != "":
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "Either availabilityZone or availabilityZoneId must be specified, but not both")
	case name == "" && id == "":
		return nil, missingParam("availabilityZone")
	}
	if ipv6, _, _ := r.boolean("Ipv6Native"); ipv6 {
		return nil, invalidParam("vpcsim models IPv4 default subnets only (Ipv6Native)")
	}
	out := &createSubnetResp{}
	err := s.mutateIn(r, func(st *state) error {
		zones := zonesOf(st.region)
		i := slices.IndexFunc(zones, func(z zoneID) bool { return z.name == name || z.id == id })
		if i < 0 {
			return invalidParam("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.",
				name+id, zoneList(zones, func(z zoneID) string { return z.name }))
		}
		az := zones[i].name
		v := st.defaultVPCOf()
		if v == nil {
			// The code and wording moto's test_create_default_subnet
			// expects; the API reference names no error for this case.
			return errorf(http.StatusBadRequest, "DefaultVpcDoesNotExist", "No default VPC exists for this account in this region.")
		}
		if sn := st.defaultSubnet(az); sn != nil {
			return errorf(http.StatusBadRequest, "DefaultSubnetAlreadyExistsInAvailabilityZone", "'%s' is already the default subnet in %s.", sn.id, az)
		}
		var block netip.Prefix
		for a := v.cidr.Addr(); v.cidr.Contains(a); {
			p := netip.PrefixFrom(a, 20)
			if !slices.ContainsFunc(st.subnets, func(sn *subnet) bool { return sn.vpc == v.id && sn.cidr.Overlaps(p) }) {
				block = p
				break
			}
			b := a.As4()
			if b[2] >= 240 {
				break
			}
			a = netip.AddrFrom4([4]byte{b[0], b[1], b[2] + 16, 0})
		}
		if !block.IsValid() {
			return errorf(http.StatusBadRequest, "InsufficientFreeAddressesInSubnet", "The default VPC %s has no free /20 block for a default subnet", v.id)
		}
		sn := &subnet{id: s.ids.next("subnet"), vpc: v.id, az: az, cidr: block, tags: map[string]string{}, defaultAZ: true,
			attrs: subnetAttrs{mapPublicIP: true}}
		st.subnets = append(st.subnets, sn)
		st.byID[sn.id] = sn
		out.Subnet = st.xSubnet(sn)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
