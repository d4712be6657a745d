package ec2

import (
	"net/http"
	"net/netip"
	"slices"
)

type allocateAddressResp struct {
	ec2Resp
	PublicIP           string `xml:"publicIp"`
	Domain             string `xml:"domain"`
	AllocationID       string `xml:"allocationId"`
	PublicIpv4Pool     string `xml:"publicIpv4Pool"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
}

// allocateAddress allocates a VPC Elastic IP from the documentation ranges
// 203.0.113.0/24 and 198.51.100.0/24. Address ("The Elastic IP address to
// recover or an IPv4 address from an address pool", API reference,
// AllocateAddress) is refused rather than ignored: vpcsim models neither
// recovering a released address nor BYOIP pools.
func (s *Account) allocateAddress(r *request) (any, error) {
	if d := r.get("Domain"); d != "" && d != "vpc" {
		return nil, invalidParam("vpcsim models VPC addresses only (Domain=vpc)")
	}
	for _, p := range []string{"Address", "PublicIpv4Pool", "CustomerOwnedIpv4Pool", "IpamPoolId"} {
		if v := r.get(p); v != "" && !(p == "PublicIpv4Pool" && v == "amazon") {
			return nil, invalidParam("vpcsim does not model recovering an Elastic IP address or address pools (%s)", p)
		}
	}
	out := &allocateAddressResp{Domain: "vpc", PublicIpv4Pool: "amazon"}
	err := s.mutateIn(r, func(st *state) error {
		a := st.nextPublicIP()
		if !a.IsValid() {
			return errorf(http.StatusBadRequest, "AddressLimitExceeded", "The maximum number of addresses has been reached.")
		}
		e := &eip{id: s.ids.next("eipalloc"), ip: a, tags: tagSpecs(r, "elastic-ip")}
		st.eips = append(st.eips, e)
		st.byID[e.id] = e
		out.PublicIP, out.AllocationID, out.NetworkBorderGroup = a.String(), e.id, st.region
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lookupEIP finds the address by AllocationId or PublicIp; s.mu held.
func (st *state) lookupEIP(r *request) (*eip, error) {
	if id := r.get("AllocationId"); id != "" {
		e := st.eip(id)
		if e == nil {
			return nil, notFound("InvalidAllocationID.NotFound", "allocation", id)
		}
		return e, nil
	}
	if v := r.get("PublicIp"); v != "" {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, invalidParam("Invalid value '%s' for PublicIp", v)
		}
		if e := st.eipByIP(a); e != nil {
			return e, nil
		}
		return nil, errorf(http.StatusBadRequest, "InvalidAddress.NotFound", "Address '%s' not found.", v)
	}
	return nil, missingParam("allocationId")
}

type associateAddressResp struct {
	ec2Resp
	Return        bool   `xml:"return"`
	AssociationID string `xml:"associationId"`
}

// associateAddress binds an Elastic IP to an interface's private address
// (default its primary). The target is NetworkInterfaceId, or InstanceId
// for an instance with exactly one interface (InvalidInstanceID otherwise,
// as AWS answers). An address already associated elsewhere is
// Resource.AlreadyAssociated unless AllowReassociation; a private address
// that already has another Elastic IP loses it.
func (s *Account) associateAddress(r *request) (any, error) {
	allow, _, err := r.boolean("AllowReassociation")
	if err != nil {
		return nil, err
	}
	out := &associateAddressResp{Return: true}
	err = s.mutateIn(r, func(st *state) error {
		x, err := st.lookupEIP(r)
		if err != nil {
			return err
		}
		var target *eni
		switch {
		case r.get("NetworkInterfaceId") != "":
			if target, err = st.lookupENI(r); err != nil {
				return err
			}
		case r.get("InstanceId") != "":
			in, err := st.lookupInstance(r)
			if err != nil {
				return err
			}
			if len(in.enis) > 1 {
				return errorf(http.StatusBadRequest, "InvalidInstanceID",
					"There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", in.id)
			}
			target = st.primaryENI(in)
			if target == nil {
				return errorf(http.StatusBadRequest, "InvalidInstanceID", "Instance '%s' has no network interface", in.id)
			}
		default:
			return missingParam("instanceId or networkInterfaceId")
		}
		priv := target.ip
		if v := r.get("PrivateIpAddress"); v != "" {
			a, perr := netip.ParseAddr(v)
			if perr != nil || (a != target.ip && !slices.Contains(target.secondary, a)) {
				return invalidParam("The specified private IP address %s is not associated with the network interface %s", v, target.id)
			}
			priv = a
		}
		if x.eni == target.id && x.privateIP == priv {
			out.AssociationID = x.assocID
			return nil
		}
		if x.eni != "" && !allow {
			return errorf(http.StatusBadRequest, "Resource.AlreadyAssociated", "resource %s is already associated with associate-id %s", x.id, x.assocID)
		}
		if old := st.eipOn(target.id, priv); old != nil {
			old.eni, old.assocID, old.privateIP = "", "", netip.Addr{}
		}
		prev := st.eni(x.eni)
		x.eni, x.privateIP, x.assocID = target.id, priv, s.ids.next("eipassoc")
		out.AssociationID = x.assocID
		st.refreshPublicIP(target)
		if prev != nil && prev != target {
			st.refreshPublicIP(prev)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Account) disassociateAddress(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		if id := r.get("AssociationId"); id != "" {
			for _, x := range st.eips {
				if x.assocID == id {
					e := st.eni(x.eni)
					x.eni, x.assocID, x.privateIP = "", "", netip.Addr{}
					if e != nil {
						st.refreshPublicIP(e)
					}
					return nil
				}
			}
			return notFound("InvalidAssociationID.NotFound", "association", id)
		}
		if r.get("PublicIp") == "" {
			return missingParam("associationId")
		}
		x, err := st.lookupEIP(r)
		if err != nil {
			return err
		}
		e := st.eni(x.eni)
		x.eni, x.assocID, x.privateIP = "", "", netip.Addr{}
		if e != nil {
			st.refreshPublicIP(e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

func (s *Account) releaseAddress(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		x, err := st.lookupEIP(r)
		if err != nil {
			return err
		}
		// "[Default VPC] Releasing an Elastic IP address automatically
		// disassociates it ... [Nondefault VPC] You must disassociate the
		// Elastic IP address before you can release it" (API reference,
		// ReleaseAddress).
		if x.eni != "" {
			if e := st.eni(x.eni); e == nil || st.vpc(e.vpc) == nil || !st.vpc(e.vpc).isDefault {
				return errorf(http.StatusBadRequest, "InvalidIPAddress.InUse", "Address %s is in use.", x.id)
			}
		}
		st.eips = slices.DeleteFunc(st.eips, func(e *eip) bool { return e == x })
		delete(st.byID, x.id)
		if e := st.eni(x.eni); e != nil {
			st.refreshPublicIP(e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type xAddress struct {
	PublicIP                string    `xml:"publicIp"`
	AllocationID            string    `xml:"allocationId"`
	Domain                  string    `xml:"domain"`
	InstanceID              string    `xml:"instanceId,omitempty"`
	AssociationID           string    `xml:"associationId,omitempty"`
	NetworkInterfaceID      string    `xml:"networkInterfaceId,omitempty"`
	NetworkInterfaceOwnerID string    `xml:"networkInterfaceOwnerId,omitempty"`
	PrivateIPAddress        string    `xml:"privateIpAddress,omitempty"`
	PublicIpv4Pool          string    `xml:"publicIpv4Pool"`
	NetworkBorderGroup      string    `xml:"networkBorderGroup"`
	Tags                    set[xTag] `xml:"tagSet"`
}

type describeAddressesResp struct {
	ec2Resp
	Addresses set[xAddress] `xml:"addressesSet"`
}

func (st *state) xAddress(x *eip) xAddress {
	a := xAddress{PublicIP: x.ip.String(), AllocationID: x.id, Domain: "vpc", PublicIpv4Pool: "amazon", NetworkBorderGroup: st.region, Tags: tagSet(x.tags)}
	if x.eni != "" {
		a.AssociationID, a.NetworkInterfaceID, a.NetworkInterfaceOwnerID, a.PrivateIPAddress = x.assocID, x.eni, st.account, x.privateIP.String()
		if e := st.eni(x.eni); e != nil && e.attach != nil {
			a.InstanceID = e.attach.instance
		}
	}
	return a
}

func (s *Account) describeAddresses(r *request) (any, error) {
	ids := r.list("AllocationId")
	ips := r.list("PublicIp")
	fs, err := r.filters("allocation-id", "association-id", "domain", "instance-id", "network-interface-id",
		"network-interface-owner-id", "private-ip-address", "public-ip", "network-border-group")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.eip(id) == nil {
			return nil, notFound("InvalidAllocationID.NotFound", "allocation", id)
		}
	}
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err != nil || st.eipByIP(a) == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidAddress.NotFound", "Address '%s' not found.", ip)
		}
	}
	out := &describeAddressesResp{Addresses: set[xAddress]{Items: []xAddress{}}}
	for _, x := range st.eips {
		a := st.xAddress(x)
		if !named(ids, a.AllocationID) || !named(ips, a.PublicIP) {
			continue
		}
		ok := match(fs, x.tags, func(name string) []string {
			v := map[string]string{
				"allocation-id": a.AllocationID, "association-id": a.AssociationID, "domain": a.Domain,
				"instance-id": a.InstanceID, "network-interface-id": a.NetworkInterfaceID,
				"network-interface-owner-id": a.NetworkInterfaceOwnerID, "private-ip-address": a.PrivateIPAddress,
				"public-ip": a.PublicIP, "network-border-group": a.NetworkBorderGroup,
			}[name]
			if v == "" {
				return nil
			}
			return []string{v}
		})
		if ok {
			out.Addresses.Items = append(out.Addresses.Items, a)
		}
	}
	return out, nil
}
