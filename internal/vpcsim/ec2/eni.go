package ec2

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// tagSpecs reads TagSpecification.N for one resource type.
func tagSpecs(r *request, resourceType string) map[string]string {
	out := map[string]string{}
	for i := 1; r.form.Has("TagSpecification." + strconv.Itoa(i) + ".ResourceType"); i++ {
		p := "TagSpecification." + strconv.Itoa(i)
		if r.get(p+".ResourceType") != resourceType {
			continue
		}
		for j := 1; r.form.Has(p + ".Tag." + strconv.Itoa(j) + ".Key"); j++ {
			q := p + ".Tag." + strconv.Itoa(j)
			out[r.get(q+".Key")] = r.get(q + ".Value")
		}
	}
	return out
}

func (st *state) lookupENI(r *request) (*eni, error) {
	return lookupParam(r, "NetworkInterfaceId", "networkInterfaceId", eniIDs, st.eni)
}

// checkAddr validates a requested private address for subnet sn.
func (st *state) checkAddr(v string, sn *subnet) (netip.Addr, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || !a.Is4() {
		return netip.Addr{}, invalidParam("invalid value for parameter address: %s", v)
	}
	if !sn.cidr.Contains(a) {
		return netip.Addr{}, invalidParam("Address %s does not fall within the subnet's address range", a)
	}
	if reservedOrOutside(a, sn) != nil {
		return netip.Addr{}, invalidParam("Address %s is reserved by AWS in subnet %s", a, sn.id)
	}
	return a, nil
}

type createENIResp struct {
	ec2Resp
	NetworkInterface xENI `xml:"networkInterface"`
}

func (s *Account) createNetworkInterface(r *request) (any, error) {
	sid, err := r.required("SubnetId", "subnetId")
	if err != nil {
		return nil, err
	}
	sdc := true
	out := &createENIResp{}
	err = s.mutateIn(r, func(st *state) error {
		sn := st.subnet(sid)
		if sn == nil {
			return notFound("InvalidSubnetID.NotFound", "subnet", sid)
		}
		var want []netip.Addr
		if v := r.get("PrivateIpAddress"); v != "" {
			a, err := st.checkAddr(v, sn)
			if err != nil {
				return err
			}
			want = append(want, a)
		}
		for i := 1; r.form.Has("PrivateIpAddresses." + strconv.Itoa(i) + ".PrivateIpAddress"); i++ {
			p := "PrivateIpAddresses." + strconv.Itoa(i)
			a, err := st.checkAddr(r.get(p+".PrivateIpAddress"), sn)
			if err != nil {
				return err
			}
			if primary, _, _ := r.boolean(p + ".Primary"); primary {
				want = append([]netip.Addr{a}, want...)
			} else if !slices.Contains(want, a) {
				want = append(want, a)
			}
		}
		for _, a := range want {
			if st.ownerOf(sn.vpc, a) != nil {
				return errorf(http.StatusBadRequest, "InvalidIPAddress.InUse", "The specified address is already in use.")
			}
		}
		groups, err := st.groupsFor(r.list("SecurityGroupId"), sn.vpc)
		if err != nil {
			return err
		}
		e := &eni{id: s.ids.next("eni"), subnet: sn.id, vpc: sn.vpc, az: sn.az, sdc: sdc, description: r.get("Description"), tags: tagSpecs(r, "network-interface"), groups: groups}
		e.mac = macFor(e.id)
		if len(want) == 0 {
			a, ok := st.freeIP(sn)
			if !ok {
				return errorf(http.StatusBadRequest, "InsufficientFreeAddressesInSubnet", "The specified subnet does not have enough free addresses to satisfy the request.")
			}
			want = append(want, a)
		}
		e.ip, e.secondary = want[0], want[1:]
		st.enis = append(st.enis, e)
		st.byID[e.id] = e
		if n, _ := strconv.Atoi(r.get("SecondaryPrivateIpAddressCount")); n > 0 {
			if err := st.assignCount(e, sn, n); err != nil {
				return err
			}
		}
		out.NetworkInterface = st.xENI(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (st *state) assignCount(e *eni, sn *subnet, n int) error {
	for range n {
		a, ok := st.freeIP(sn)
		if !ok {
			return errorf(http.StatusBadRequest, "InsufficientFreeAddressesInSubnet", "The specified subnet does not have enough free addresses to satisfy the request.")
		}
		e.secondary = append(e.secondary, a)
	}
	return nil
}

func (s *Account) deleteNetworkInterface(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		e, err := st.lookupENI(r)
		if err != nil {
			return err
		}
		if e.attach != nil {
			return errorf(http.StatusBadRequest, "InvalidNetworkInterface.InUse", "The network interface '%s' is currently in use.", e.id)
		}
		for _, x := range st.eips {
			if x.eni == e.id {
				x.eni, x.assocID, x.privateIP = "", "", netip.Addr{}
			}
		}
		st.enis = slices.DeleteFunc(st.enis, func(x *eni) bool { return x == e })
		delete(st.byID, e.id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type attachENIResp struct {
	ec2Resp
	AttachmentID     string `xml:"attachmentId"`
	NetworkCardIndex int    `xml:"networkCardIndex"`
}

// attachNetworkInterface starts an attachment (status attaching) that
// completes after Timing.ENIAttach. As in AWS, the interface and the
// instance must be in the same availability zone
// (InvalidParameterCombination) and an attached interface cannot be
// attached again (InvalidNetworkInterface.InUse).
func (s *Account) attachNetworkInterface(r *request) (any, error) {
	idxStr, err := r.required("DeviceIndex", "deviceIndex")
	if err != nil {
		return nil, err
	}
	idx, perr := strconv.Atoi(idxStr)
	if perr != nil || idx < 0 {
		return nil, invalidParam("Value (%s) for parameter deviceIndex is invalid.", idxStr)
	}
	out := &attachENIResp{}
	err = s.mutateIn(r, func(st *state) error {
		e, err := st.lookupENI(r)
		if err != nil {
			return err
		}
		in, err := st.lookupInstance(r)
		if err != nil {
			return err
		}
		if e.attach != nil {
			return errorf(http.StatusBadRequest, "InvalidNetworkInterface.InUse", "Interface: [%s] in use.", e.id)
		}
		if in.state != "running" && in.state != "stopped" {
			return errorf(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in a valid state for this operation.", in.id)
		}
		if p := st.primaryENI(in); p != nil && p.az != e.az {
			return errorf(http.StatusBadRequest, "InvalidParameterCombination", "You may not attach a network interface to an instance if they are not in the same availability zone")
		}
		if p := st.primaryENI(in); p != nil && p.vpc != e.vpc {
			return errorf(http.StatusBadRequest, "InvalidParameterCombination", "The network interface and the instance belong to different VPCs.")
		}
		for _, other := range in.enis {
			if o := st.eni(other); o != nil && o.attach != nil && o.attach.index == idx {
				return invalidParam("Instance '%s' already has an interface attached at device index '%d'.", in.id, idx)
			}
		}
		a := &attachment{id: s.ids.next("eni-attach"), instance: in.id, index: idx, status: "attaching", time: time.Now().UTC()}
		e.attach = a
		in.enis = append(in.enis, e.id)
		st.schedule(s.opts.Timing.ENIAttach.Sample(), func(st *state) {
			if e.attach == a && a.status == "attaching" {
				a.status = "attached"
			}
		})
		out.AttachmentID = a.id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// detachNetworkInterface starts detaching (status detaching); the
// interface becomes available after Timing.ENIDetach, halved with Force.
// The primary interface (device index 0) cannot be detached.
func (s *Account) detachNetworkInterface(r *request) (any, error) {
	aid, err := r.required("AttachmentId", "attachmentId")
	if err != nil {
		return nil, err
	}
	force, _, err := r.boolean("Force")
	if err != nil {
		return nil, err
	}
	err = s.mutateIn(r, func(st *state) error {
		var e *eni
		for _, x := range st.enis {
			if x.attach != nil && x.attach.id == aid {
				e = x
			}
		}
		if e == nil {
			return notFound("InvalidAttachmentID.NotFound", "attachment", aid)
		}
		a := e.attach
		if a.index == 0 {
			return errorf(http.StatusBadRequest, "OperationNotPermitted", "The network interface at device index 0 and networkCard index 0 cannot be detached.")
		}
		if a.status == "detaching" && !force {
			return errorf(http.StatusBadRequest, "IncorrectState", "The attachment '%s' is already detaching.", aid)
		}
		a.status = "detaching"
		d := s.opts.Timing.ENIDetach.Sample()
		if force {
			d /= 2
		}
		st.schedule(d, func(st *state) {
			if e.attach != a {
				return
			}
			e.attach = nil
			if in := st.instance(a.instance); in != nil {
				in.enis = slices.DeleteFunc(in.enis, func(id string) bool { return id == e.id })
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

func (s *Account) modifyNetworkInterfaceAttribute(r *request) (any, error) {
	sdc, sdcSet, err := r.boolean("SourceDestCheck.Value")
	if err != nil {
		return nil, err
	}
	desc, descSet := r.get("Description.Value"), r.form.Has("Description.Value")
	groupIDs := r.list("SecurityGroupId")
	if !sdcSet && !descSet && len(groupIDs) == 0 {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "vpcsim modifies SourceDestCheck, Description and SecurityGroupId; none was given.")
	}
	err = s.mutateIn(r, func(st *state) error {
		e, err := st.lookupENI(r)
		if err != nil {
			return err
		}
		var groups []string
		if len(groupIDs) > 0 {
			// ModifyNetworkInterfaceAttribute: "You must specify at least
			// one group, even if it's just the default security group";
			// the list replaces the interface's groups.
			if groups, err = st.groupsFor(groupIDs, e.vpc); err != nil {
				return err
			}
		}
		if sdcSet {
			e.sdc = sdc
		}
		if descSet {
			e.description = desc
		}
		if groups != nil {
			e.groups = groups
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type xAssigned struct {
	PrivateIPAddress string `xml:"privateIpAddress"`
}

type assignResp struct {
	ec2Resp
	Return             bool           `xml:"return"`
	NetworkInterfaceID string         `xml:"networkInterfaceId"`
	Assigned           set[xAssigned] `xml:"assignedPrivateIpAddressesSet"`
}

// assignPrivateIpAddresses adds secondary addresses. An address held by
// another interface is refused (InvalidIPAddress.InUse) unless
// AllowReassignment, which moves it: afterwards the
// addresses.private-ip-address filter finds it on its new interface only.
// An Elastic IP associated with a moved address follows it, as in AWS.
func (s *Account) assignPrivateIpAddresses(r *request) (any, error) {
	allow, _, err := r.boolean("AllowReassignment")
	if err != nil {
		return nil, err
	}
	addrs := r.list("PrivateIpAddress")
	count, _ := strconv.Atoi(r.get("SecondaryPrivateIpAddressCount"))
	if len(addrs) == 0 && count <= 0 {
		return nil, missingParam("privateIpAddress or secondaryPrivateIpAddressCount")
	}
	if len(addrs) > 0 && count > 0 {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "Specify either privateIpAddress or secondaryPrivateIpAddressCount, not both.")
	}
	out := &assignResp{Return: true, Assigned: set[xAssigned]{Items: []xAssigned{}}}
	err = s.mutateIn(r, func(st *state) error {
		e, err := st.lookupENI(r)
		if err != nil {
			return err
		}
		sn := st.subnet(e.subnet)
		out.NetworkInterfaceID = e.id
		before := len(e.secondary)
		if count > 0 {
			if err := st.assignCount(e, sn, count); err != nil {
				return err
			}
			for _, a := range e.secondary[before:] {
				out.Assigned.Items = append(out.Assigned.Items, xAssigned{a.String()})
			}
			return nil
		}
		var want []netip.Addr
		for _, v := range addrs {
			a, err := st.checkAddr(v, sn)
			if err != nil {
				return err
			}
			owner := st.ownerOf(e.vpc, a)
			switch {
			case owner == e && e.ip == a:
				return invalidParam("Address %s is the primary address of %s", a, e.id)
			case owner == e:
				continue // already assigned here
			case owner != nil && !allow:
				return errorf(http.StatusBadRequest, "InvalidIPAddress.InUse", "The specified address %s is already in use by %s; use AllowReassignment to move it.", a, owner.id)
			case owner != nil && owner.ip == a:
				return invalidParam("Address %s is the primary address of %s and cannot be reassigned", a, owner.id)
			}
			want = append(want, a)
		}
		for _, a := range want {
			if owner := st.ownerOf(e.vpc, a); owner != nil {
				owner.secondary = slices.DeleteFunc(owner.secondary, func(x netip.Addr) bool { return x == a })
				if x := st.eipOn(owner.id, a); x != nil {
					x.eni = e.id
				}
			}
			e.secondary = append(e.secondary, a)
			out.Assigned.Items = append(out.Assigned.Items, xAssigned{a.String()})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Account) unassignPrivateIpAddresses(r *request) (any, error) {
	addrs := r.list("PrivateIpAddress")
	if len(addrs) == 0 {
		return nil, missingParam("privateIpAddress")
	}
	err := s.mutateIn(r, func(st *state) error {
		e, err := st.lookupENI(r)
		if err != nil {
			return err
		}
		var drop []netip.Addr
		for _, v := range addrs {
			a, perr := netip.ParseAddr(v)
			if perr != nil || !slices.Contains(e.secondary, a) {
				return invalidParam("Some of the specified addresses are not assigned to interface %s", e.id)
			}
			drop = append(drop, a)
		}
		for _, a := range drop {
			e.secondary = slices.DeleteFunc(e.secondary, func(x netip.Addr) bool { return x == a })
			if x := st.eipOn(e.id, a); x != nil {
				x.eni, x.assocID, x.privateIP = "", "", netip.Addr{}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

// checkTagSpecs refuses a TagSpecification.N without tags, as EC2 does for
// every action that takes one ("Tag specification must have at least one
// tag", EC2's answer quoted by operators that strip empty specifications,
// e.g. a StripEmptyTagSpecifications middleware for the AWS SDK for Go).
func checkTagSpecs(r *request) error {
	for i := 1; ; i++ {
		p := "TagSpecification." + strconv.Itoa(i)
		if !r.form.Has(p+".ResourceType") && !r.form.Has(p+".Tag.1.Key") {
			return nil
		}
		if !r.form.Has(p + ".Tag.1.Key") {
			return invalidParam("Tag specification must have at least one tag")
		}
	}
}
