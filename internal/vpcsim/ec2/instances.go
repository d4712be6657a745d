package ec2

import (
	"cmp"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

const awsTime = "2006-01-02T15:04:05.000Z"

type xGroup struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type xInstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

// stateCodes are EC2's instance state codes (the low byte of State.Code).
var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

type xPlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	GroupName        string `xml:"groupName"`
	HostID           string `xml:"hostId,omitempty"`
	Tenancy          string `xml:"tenancy"`
}

type xProfile struct {
	Arn string `xml:"arn"`
	ID  string `xml:"id"`
}

type xInstance struct {
	InstanceID         string            `xml:"instanceId"`
	ImageID            string            `xml:"imageId"`
	KeyName            string            `xml:"keyName,omitempty"`
	State              xInstanceState    `xml:"instanceState"`
	PrivateDNSName     string            `xml:"privateDnsName"`
	DNSName            string            `xml:"dnsName"`
	Reason             string            `xml:"reason"`
	AmiLaunchIndex     int               `xml:"amiLaunchIndex"`
	InstanceType       string            `xml:"instanceType"`
	LaunchTime         string            `xml:"launchTime"`
	Placement          xPlacement        `xml:"placement"`
	Monitoring         xAssocState       `xml:"monitoring"`
	SubnetID           string            `xml:"subnetId"`
	VpcID              string            `xml:"vpcId"`
	PrivateIPAddress   string            `xml:"privateIpAddress"`
	PublicIPAddress    string            `xml:"ipAddress,omitempty"`
	SourceDestCheck    bool              `xml:"sourceDestCheck"`
	Groups             set[xGroup]       `xml:"groupSet"`
	Architecture       string            `xml:"architecture"`
	RootDeviceType     string            `xml:"rootDeviceType"`
	RootDeviceName     string            `xml:"rootDeviceName"`
	BlockDevices       set[xBlockDevice] `xml:"blockDeviceMapping"`
	VirtualizationType string            `xml:"virtualizationType"`
	Tags               *set[xTag]        `xml:"tagSet,omitempty"`
	Hypervisor         string            `xml:"hypervisor"`
	NetworkInterfaces  set[xInstanceENI] `xml:"networkInterfaceSet"`
	IamInstanceProfile *xProfile         `xml:"iamInstanceProfile,omitempty"`
	EbsOptimized       bool              `xml:"ebsOptimized"`
	EnaSupport         bool              `xml:"enaSupport"`
	StateReason        *xStateReason     `xml:"stateReason,omitempty"`
	Hibernation        xHibernation      `xml:"hibernationOptions"`
	MetadataOptions    *xMetadataOptions `xml:"metadataOptions"`
}

type xStateReason struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type xHibernation struct {
	Configured bool `xml:"configured"`
}

type xBlockDevice struct {
	DeviceName string    `xml:"deviceName"`
	EBS        xEBSBlock `xml:"ebs"`
}

type xEBSBlock struct {
	VolumeID            string `xml:"volumeId"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

// xENIAssoc is the public side of an interface address: its Elastic IP.
type xENIAssoc struct {
	PublicIP      string `xml:"publicIp"`
	PublicDNSName string `xml:"publicDnsName"`
	IPOwnerID     string `xml:"ipOwnerId"`
	AllocationID  string `xml:"allocationId,omitempty"`
	AssociationID string `xml:"associationId,omitempty"`
}

func publicDNS(a netip.Addr) string {
	return "ec2-" + strings.ReplaceAll(a.String(), ".", "-") + ".compute-1.amazonaws.com"
}

// refreshPublicIP gives e a new public address when it was launched with
// one, lacks one, runs attached to a live instance and has no Elastic IP
// on its primary address; it drops the address when the instance is not
// running or starting. See eni.publicIP.
func (st *state) refreshPublicIP(e *eni) {
	if !e.autoPublic {
		return
	}
	in := (*instance)(nil)
	if e.attach != nil {
		in = st.instance(e.attach.instance)
	}
	up := in != nil && (in.state == "pending" || in.state == "running")
	switch {
	case !up || st.eipOn(e.id, e.ip) != nil:
		e.publicIP = netip.Addr{}
	case !e.publicIP.IsValid():
		e.publicIP = st.nextPublicIP()
	}
}

func (st *state) xAssoc(eniID string, a netip.Addr, withIDs bool) *xENIAssoc {
	x := st.eipOn(eniID, a)
	if x == nil {
		// An address EC2 assigned at launch is Amazon's ("ipOwnerId":
		// "amazon", API reference NetworkInterfaceAssociation, IpOwnerId:
		// "The ID of the owner of the Elastic IP address").
		if e := st.eni(eniID); e != nil && e.publicIP.IsValid() && e.ip == a {
			return &xENIAssoc{PublicIP: e.publicIP.String(), IPOwnerID: "amazon", PublicDNSName: publicDNS(e.publicIP)}
		}
		return nil
	}
	out := &xENIAssoc{PublicIP: x.ip.String(), IPOwnerID: st.account, PublicDNSName: publicDNS(x.ip)}
	if withIDs {
		out.AllocationID, out.AssociationID = x.id, x.assocID
	}
	return out
}

type xAttachment struct {
	AttachmentID        string `xml:"attachmentId"`
	InstanceID          string `xml:"instanceId,omitempty"`
	InstanceOwnerID     string `xml:"instanceOwnerId,omitempty"`
	DeviceIndex         int    `xml:"deviceIndex"`
	NetworkCardIndex    int    `xml:"networkCardIndex"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type xPrivateIP struct {
	PrivateIPAddress string     `xml:"privateIpAddress"`
	PrivateDNSName   string     `xml:"privateDnsName,omitempty"`
	Primary          bool       `xml:"primary"`
	Association      *xENIAssoc `xml:"association,omitempty"`
}

type xInstanceENI struct {
	NetworkInterfaceID string          `xml:"networkInterfaceId"`
	SubnetID           string          `xml:"subnetId"`
	VpcID              string          `xml:"vpcId"`
	Description        string          `xml:"description"`
	OwnerID            string          `xml:"ownerId"`
	Status             string          `xml:"status"`
	MacAddress         string          `xml:"macAddress"`
	PrivateIPAddress   string          `xml:"privateIpAddress"`
	PrivateDNSName     string          `xml:"privateDnsName"`
	SourceDestCheck    bool            `xml:"sourceDestCheck"`
	Groups             set[xGroup]     `xml:"groupSet"`
	Attachment         xAttachment     `xml:"attachment"`
	Association        *xENIAssoc      `xml:"association,omitempty"`
	PrivateIPAddresses set[xPrivateIP] `xml:"privateIpAddressesSet"`
	IPv6Addresses      set[xIPv6Addr]  `xml:"ipv6AddressesSet"`
	InterfaceType      string          `xml:"interfaceType"`
}

type xReservation struct {
	ReservationID string         `xml:"reservationId"`
	OwnerID       string         `xml:"ownerId"`
	Groups        set[xGroup]    `xml:"groupSet"`
	Instances     set[xInstance] `xml:"instancesSet"`
}

type describeInstancesResp struct {
	ec2Resp
	Reservations set[xReservation] `xml:"reservationSet"`
	NextToken    string            `xml:"nextToken,omitempty"`
}

var instanceFilters = []string{
	"ip-address", "block-device-mapping.volume-id", "block-device-mapping.device-name",
	"instance-id", "private-ip-address", "network-interface.network-interface-id", "network-interface.addresses.private-ip-address",
	"network-interface.ipv6-addresses.ipv6-address", "network-interface.ipv6-address",
	"network-interface.subnet-id", "network-interface.vpc-id", "network-interface.mac-address",
	"instance-state-name", "instance-state-code", "subnet-id", "vpc-id", "availability-zone", "instance-type",
	"owner-id", "reservation-id", "iam-instance-profile.arn", "private-dns-name", "source-dest-check",
	"instance.group-id", "instance.group-name", "network-interface.group-id", "network-interface.group-name",
	"image-id", "key-name", "dns-name", "architecture", "root-device-type", "virtualization-type", "hypervisor",
	"state-reason-code", "monitoring-state",
}

func (st *state) privateDNS(a netip.Addr) string {
	name := "ip-" + strings.ReplaceAll(a.String(), ".", "-")
	if st.region == "us-east-1" {
		return name + ".ec2.internal"
	}
	return name + "." + st.region + ".compute.internal"
}

// reservationID is the ID of the reservation that launched in: one per
// RunInstances call, as in AWS.
func reservationID(in *instance) string {
	if in.reservation != "" {
		return in.reservation
	}
	return fmt.Sprintf("r-%017x", fnv64("r/"+in.id)&0xfffffffffffffff)
}

func (st *state) profileARN(roleName string) string {
	return "arn:aws:iam::" + st.account + ":instance-profile/" + roleName
}

func (st *state) xInstance(in *instance) xInstance {
	x := xInstance{
		InstanceID:         in.id,
		ImageID:            cmp.Or(in.image, "ami-0a1b2c3d4e5f60718"),
		AmiLaunchIndex:     in.launchIndex,
		State:              xInstanceState{Code: stateCodes[in.state], Name: in.state},
		InstanceType:       in.instanceType,
		LaunchTime:         in.launch.Format(awsTime),
		Placement:          xPlacement{Tenancy: "default", HostID: in.hostID},
		KeyName:            in.keyName,
		Monitoring:         xAssocState{State: "disabled"},
		Groups:             set[xGroup]{Items: []xGroup{}},
		BlockDevices:       set[xBlockDevice]{Items: []xBlockDevice{}},
		Architecture:       "x86_64",
		RootDeviceType:     "ebs",
		RootDeviceName:     rootDevice,
		VirtualizationType: "hvm",
		Hypervisor:         "xen",
		Tags:               optionalTags(in.tags),
		NetworkInterfaces:  set[xInstanceENI]{Items: []xInstanceENI{}},
		EnaSupport:         true,
		EbsOptimized:       in.ebsOptimized,
		Hibernation:        xHibernation{Configured: in.hibernate},
		MetadataOptions:    st.metadataOptions(in).x(),
	}
	if in.monitoring {
		x.Monitoring.State = "enabled"
	}
	if in.stateReason != "" {
		x.StateReason = &xStateReason{Code: in.stateReason, Message: in.stateReason + ": User initiated shutdown"}
	}
	if in.state == "stopped" || in.stateReason != "" {
		x.Reason = "User initiated"
	}
	if in.role != "" {
		x.IamInstanceProfile = &xProfile{Arn: st.profileARN(in.role), ID: "AIPA" + strings.ToUpper(fmt.Sprintf("%016x", fnv64(in.role)))}
	}
	if in.hostID != "" {
		x.Placement.Tenancy = "host"
	}
	if p := st.primaryENI(in); p != nil {
		x.SubnetID, x.VpcID = p.subnet, p.vpc
		x.Groups = st.xGroups(p.groups)
		x.Placement.AvailabilityZone = p.az
		x.PrivateIPAddress = p.ip.String()
		x.PrivateDNSName = st.privateDNS(p.ip)
		x.SourceDestCheck = p.sdc
		if a := st.xAssoc(p.id, p.ip, false); a != nil {
			x.PublicIPAddress, x.DNSName = a.PublicIP, a.PublicDNSName
		}
	}
	for _, v := range st.vols {
		if v.attach != nil && v.attach.instance == in.id {
			x.BlockDevices.Items = append(x.BlockDevices.Items, xBlockDevice{DeviceName: v.attach.device,
				EBS: xEBSBlock{VolumeID: v.id, Status: v.attach.status, AttachTime: v.attach.time.Format(awsTime), DeleteOnTermination: v.attach.deleteOnTermination}})
		}
	}
	for _, id := range in.enis {
		e := st.eni(id)
		if e == nil || e.attach == nil {
			continue
		}
		x.NetworkInterfaces.Items = append(x.NetworkInterfaces.Items, xInstanceENI{
			NetworkInterfaceID: e.id,
			SubnetID:           e.subnet,
			VpcID:              e.vpc,
			Description:        e.description,
			OwnerID:            st.account,
			Status:             "in-use",
			MacAddress:         e.mac,
			PrivateIPAddress:   e.ip.String(),
			PrivateDNSName:     st.privateDNS(e.ip),
			SourceDestCheck:    e.sdc,
			Groups:             st.xGroups(e.groups),
			Attachment:         st.xAttachment(e, false),
			Association:        st.xAssoc(e.id, e.ip, false),
			PrivateIPAddresses: st.xPrivateIPs(e),
			IPv6Addresses:      xIPv6Addrs(e),
			InterfaceType:      "interface",
		})
	}
	return x
}

func (st *state) xAttachment(e *eni, withInstance bool) xAttachment {
	a := xAttachment{
		AttachmentID:        e.attach.id,
		DeviceIndex:         e.attach.index,
		Status:              e.attach.status,
		AttachTime:          e.attach.time.Format(awsTime),
		DeleteOnTermination: e.attach.deleteOnTermination(),
	}
	if withInstance {
		a.InstanceID = e.attach.instance
		a.InstanceOwnerID = st.account
	}
	return a
}

func (st *state) xPrivateIPs(e *eni) set[xPrivateIP] {
	out := set[xPrivateIP]{Items: []xPrivateIP{{PrivateIPAddress: e.ip.String(), PrivateDNSName: st.privateDNS(e.ip), Primary: true, Association: st.xAssoc(e.id, e.ip, true)}}}
	for _, a := range e.secondary {
		out.Items = append(out.Items, xPrivateIP{PrivateIPAddress: a.String(), PrivateDNSName: st.privateDNS(a), Association: st.xAssoc(e.id, a, true)})
	}
	return out
}

func instanceAttr(x xInstance, name string) []string {
	var out []string
	switch name {
	case "instance-id":
		return []string{x.InstanceID}
	case "instance.group-id", "instance.group-name":
		for _, g := range x.Groups.Items {
			out = append(out, map[string]string{"instance.group-id": g.GroupID, "instance.group-name": g.GroupName}[name])
		}
		return out
	case "network-interface.group-id", "network-interface.group-name":
		for _, e := range x.NetworkInterfaces.Items {
			for _, g := range e.Groups.Items {
				out = append(out, map[string]string{"network-interface.group-id": g.GroupID, "network-interface.group-name": g.GroupName}[name])
			}
		}
		return out
	case "private-ip-address":
		return []string{x.PrivateIPAddress}
	case "private-dns-name":
		return []string{x.PrivateDNSName}
	case "instance-state-name":
		return []string{x.State.Name}
	case "instance-state-code":
		return []string{strconv.Itoa(x.State.Code)}
	case "subnet-id":
		return []string{x.SubnetID}
	case "vpc-id":
		return []string{x.VpcID}
	case "availability-zone":
		return []string{x.Placement.AvailabilityZone}
	case "instance-type":
		return []string{x.InstanceType}
	case "image-id":
		return []string{x.ImageID}
	case "key-name":
		return []string{x.KeyName}
	case "dns-name":
		// "dns-name - The public DNS name of the instance" (API reference
		// DescribeInstances, Filter.N).
		return []string{x.DNSName}
	case "architecture":
		return []string{x.Architecture}
	case "root-device-type":
		return []string{x.RootDeviceType}
	case "virtualization-type":
		return []string{x.VirtualizationType}
	case "hypervisor":
		return []string{x.Hypervisor}
	case "source-dest-check":
		return []string{boolStr(x.SourceDestCheck)}
	case "state-reason-code":
		// an instance without a state reason matches the empty value
		if x.StateReason == nil {
			return []string{""}
		}
		return []string{x.StateReason.Code}
	case "monitoring-state":
		return []string{x.Monitoring.State}
	case "ip-address":
		if x.PublicIPAddress == "" {
			return nil
		}
		return []string{x.PublicIPAddress}
	case "block-device-mapping.volume-id", "block-device-mapping.device-name":
		for _, b := range x.BlockDevices.Items {
			if name == "block-device-mapping.volume-id" {
				out = append(out, b.EBS.VolumeID)
			} else {
				out = append(out, b.DeviceName)
			}
		}
		return out
	case "iam-instance-profile.arn":
		if x.IamInstanceProfile != nil {
			return []string{x.IamInstanceProfile.Arn}
		}
		return nil
	}
	for _, n := range x.NetworkInterfaces.Items {
		switch name {
		case "network-interface.network-interface-id":
			out = append(out, n.NetworkInterfaceID)
		case "network-interface.subnet-id":
			out = append(out, n.SubnetID)
		case "network-interface.vpc-id":
			out = append(out, n.VpcID)
		case "network-interface.mac-address":
			out = append(out, n.MacAddress)
		case "network-interface.addresses.private-ip-address":
			for _, a := range n.PrivateIPAddresses.Items {
				out = append(out, a.PrivateIPAddress)
			}
		case "network-interface.ipv6-addresses.ipv6-address", "network-interface.ipv6-address":
			for _, a := range n.IPv6Addresses.Items {
				out = append(out, a.Ipv6Address)
			}
		}
	}
	return out
}

func (s *Account) describeInstances(r *request) (any, error) {
	// EC2 names DescribeInstances' IDs by their set: "The parameter
	// instancesSet cannot be used with the parameter maxResults" (AWS's
	// answer, as an AmazonServiceException with its request ID, in the
	// jaws Clojure EC2 library's notes).
	if err := checkPaging(r, idsParam(r, "InstanceId", "instancesSet")); err != nil {
		return nil, err
	}
	ids := r.list("InstanceId")
	fs, err := r.filters(instanceFilters...)
	if err != nil {
		return nil, err
	}
	if err := malformed("InvalidInstanceID.Malformed", "i", ids...); err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	if _, err := lookupAll(ids, st.instance, "InvalidInstanceID.NotFound", "instance"); err != nil {
		return nil, err
	}
	out := &describeInstancesResp{Reservations: set[xReservation]{Items: []xReservation{}}}
	for _, in := range st.insts {
		if !named(ids, in.id) {
			continue
		}
		x := st.xInstance(in)
		rid := reservationID(in)
		ok := match(fs, in.tags, func(name string) []string {
			switch name {
			case "owner-id":
				return []string{st.account}
			case "reservation-id":
				return []string{rid}
			}
			return instanceAttr(x, name)
		})
		if !ok {
			continue
		}
		// DescribeInstances answers reservations, each listing those of
		// its instances that match.
		if k := len(out.Reservations.Items) - 1; k >= 0 && out.Reservations.Items[k].ReservationID == rid {
			out.Reservations.Items[k].Instances.Items = append(out.Reservations.Items[k].Instances.Items, x)
			continue
		}
		out.Reservations.Items = append(out.Reservations.Items, xReservation{
			ReservationID: rid,
			OwnerID:       st.account,
			Groups:        set[xGroup]{Items: []xGroup{}},
			Instances:     itemsOf(x),
		})
	}
	var perr error
	if out.Reservations.Items, out.NextToken, perr = paginate(r, out.Reservations.Items, idsParam(r, "InstanceId", "instanceId")); perr != nil {
		return nil, perr
	}
	return out, nil
}

type xValue struct {
	Value string `xml:"value"`
}

func (st *state) lookupInstance(r *request) (*instance, error) {
	return lookupParam(r, "InstanceId", "instanceId", instanceIDs, st.instance)
}

// modifyInstanceGroups replaces the groups of the instance's primary
// interface (ModifyInstanceAttribute GroupId.N: "you must specify the
// security group ID ... even if it's just the default security group"); an
// instance with several interfaces is refused, as for sourceDestCheck.
func (s *Account) modifyInstanceGroups(r *request, groupIDs []string) (any, error) {
	if err := s.mutateIn(r, func(st *state) error {
		in, err := st.lookupInstance(r)
		if err != nil {
			return err
		}
		if len(in.enis) > 1 {
			return errorf(http.StatusBadRequest, "InvalidInstanceID",
				"There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", in.id)
		}
		p := st.primaryENI(in)
		if p == nil {
			return errorf(http.StatusBadRequest, "InvalidInstanceID", "Instance '%s' has no network interface", in.id)
		}
		groups, err := st.groupsFor(groupIDs, p.vpc)
		if err != nil {
			return err
		}
		p.groups = groups
		return nil
	}); err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type xENI struct {
	NetworkInterfaceID string          `xml:"networkInterfaceId"`
	SubnetID           string          `xml:"subnetId"`
	VpcID              string          `xml:"vpcId"`
	AvailabilityZone   string          `xml:"availabilityZone"`
	Description        string          `xml:"description"`
	OwnerID            string          `xml:"ownerId"`
	RequesterManaged   bool            `xml:"requesterManaged"`
	Status             string          `xml:"status"`
	MacAddress         string          `xml:"macAddress"`
	PrivateIPAddress   string          `xml:"privateIpAddress"`
	PrivateDNSName     string          `xml:"privateDnsName"`
	SourceDestCheck    bool            `xml:"sourceDestCheck"`
	Groups             set[xGroup]     `xml:"groupSet"`
	Attachment         *xAttachment    `xml:"attachment,omitempty"`
	Association        *xENIAssoc      `xml:"association,omitempty"`
	PrivateIPAddresses set[xPrivateIP] `xml:"privateIpAddressesSet"`
	IPv6Addresses      set[xIPv6Addr]  `xml:"ipv6AddressesSet"`
	InterfaceType      string          `xml:"interfaceType"`
	Tags               set[xTag]       `xml:"tagSet"`
}

type describeNetworkInterfacesResp struct {
	ec2Resp
	NetworkInterfaces set[xENI] `xml:"networkInterfaceSet"`
	NextToken         string    `xml:"nextToken,omitempty"`
}

var eniFilters = []string{
	"network-interface-id", "addresses.private-ip-address", "private-ip-address", "addresses.primary", "ipv6-addresses.ipv6-address",
	"attachment.instance-id", "attachment.instance-owner-id", "attachment.attachment-id", "attachment.device-index", "attachment.status",
	"subnet-id", "vpc-id", "status", "availability-zone", "mac-address", "source-dest-check", "description", "owner-id",
	"interface-type", "private-dns-name", "requester-managed",
	"association.public-ip", "association.allocation-id", "association.association-id",
	"group-id", "group-name",
}

// eniStatus is in-use while an attachment exists, whatever its own status
// (attaching, attached, detaching), and available otherwise: ENI-move
// failover scripts wait for "in-use" to end after a detach.
func eniStatus(e *eni) string {
	if e.attach == nil {
		return "available"
	}
	return "in-use"
}

func (st *state) xENI(e *eni) xENI {
	x := xENI{
		NetworkInterfaceID: e.id,
		SubnetID:           e.subnet,
		VpcID:              e.vpc,
		AvailabilityZone:   e.az,
		Description:        e.description,
		OwnerID:            st.account,
		Status:             eniStatus(e),
		MacAddress:         e.mac,
		PrivateIPAddress:   e.ip.String(),
		PrivateDNSName:     st.privateDNS(e.ip),
		SourceDestCheck:    e.sdc,
		Groups:             st.xGroups(e.groups),
		PrivateIPAddresses: st.xPrivateIPs(e),
		IPv6Addresses:      xIPv6Addrs(e),
		InterfaceType:      "interface",
		Tags:               tagSet(e.tags),
		Association:        st.xAssoc(e.id, e.ip, true),
	}
	if e.attach != nil {
		a := st.xAttachment(e, true)
		x.Attachment = &a
	}
	return x
}

func eniAttr(x xENI, name string) []string {
	switch name {
	case "network-interface-id":
		return []string{x.NetworkInterfaceID}
	case "private-ip-address":
		return []string{x.PrivateIPAddress}
	case "addresses.private-ip-address":
		var out []string
		for _, a := range x.PrivateIPAddresses.Items {
			out = append(out, a.PrivateIPAddress)
		}
		return out
	case "ipv6-addresses.ipv6-address":
		var out []string
		for _, a := range x.IPv6Addresses.Items {
			out = append(out, a.Ipv6Address)
		}
		return out
	case "addresses.primary":
		var out []string
		for _, a := range x.PrivateIPAddresses.Items {
			out = append(out, boolStr(a.Primary))
		}
		return out
	case "subnet-id":
		return []string{x.SubnetID}
	case "vpc-id":
		return []string{x.VpcID}
	case "status":
		return []string{x.Status}
	case "availability-zone":
		return []string{x.AvailabilityZone}
	case "mac-address":
		return []string{x.MacAddress}
	case "source-dest-check":
		return []string{boolStr(x.SourceDestCheck)}

	case "description":
		return []string{x.Description}
	case "owner-id":
		return []string{x.OwnerID}
	case "interface-type":
		return []string{x.InterfaceType}
	case "private-dns-name":
		return []string{x.PrivateDNSName}
	case "requester-managed":
		return []string{boolStr(x.RequesterManaged)}
	case "group-id", "group-name":
		var out []string
		for _, g := range x.Groups.Items {
			out = append(out, map[string]string{"group-id": g.GroupID, "group-name": g.GroupName}[name])
		}
		return out
	case "association.public-ip", "association.allocation-id", "association.association-id":
		var out []string
		for _, a := range x.PrivateIPAddresses.Items {
			if a.Association == nil {
				continue
			}
			out = append(out, map[string]string{"association.public-ip": a.Association.PublicIP,
				"association.allocation-id": a.Association.AllocationID, "association.association-id": a.Association.AssociationID}[name])
		}
		return out
	}
	if x.Attachment == nil {
		return nil
	}
	switch name {
	case "attachment.instance-id":
		return []string{x.Attachment.InstanceID}
	case "attachment.instance-owner-id":
		return []string{x.Attachment.InstanceOwnerID}
	case "attachment.attachment-id":
		return []string{x.Attachment.AttachmentID}
	case "attachment.device-index":
		return []string{strconv.Itoa(x.Attachment.DeviceIndex)}
	case "attachment.status":
		return []string{x.Attachment.Status}
	}
	return nil
}

func (s *Account) describeNetworkInterfaces(r *request) (any, error) {
	if err := checkPaging(r, idsParam(r, "NetworkInterfaceId", "networkInterfaceId")); err != nil {
		return nil, err
	}
	ids := r.list("NetworkInterfaceId")
	fs, err := r.filters(eniFilters...)
	if err != nil {
		return nil, err
	}
	if err := malformed("InvalidNetworkInterfaceID.Malformed", "eni", ids...); err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	if _, err := lookupAll(ids, st.eni, "InvalidNetworkInterfaceID.NotFound", "networkInterface"); err != nil {
		return nil, err
	}
	out := &describeNetworkInterfacesResp{NetworkInterfaces: set[xENI]{Items: []xENI{}}}
	for _, e := range st.enis {
		if !named(ids, e.id) {
			continue
		}
		x := st.xENI(e)
		if match(fs, e.tags, func(name string) []string { return eniAttr(x, name) }) {
			out.NetworkInterfaces.Items = append(out.NetworkInterfaces.Items, x)
		}
	}
	var perr error
	if out.NetworkInterfaces.Items, out.NextToken, perr = paginate(r, out.NetworkInterfaces.Items, idsParam(r, "NetworkInterfaceId", "networkInterfaceId")); perr != nil {
		return nil, perr
	}
	return out, nil
}

type xCidrAssoc struct {
	AssociationID string      `xml:"associationId"`
	CidrBlock     string      `xml:"cidrBlock"`
	State         xAssocState `xml:"cidrBlockState"`
}

type xVpc struct {
	VpcID           string             `xml:"vpcId"`
	OwnerID         string             `xml:"ownerId"`
	State           string             `xml:"state"`
	CidrBlock       string             `xml:"cidrBlock"`
	CidrAssocs      set[xCidrAssoc]    `xml:"cidrBlockAssociationSet"`
	DhcpOptionsID   string             `xml:"dhcpOptionsId"`
	InstanceTenancy string             `xml:"instanceTenancy"`
	IsDefault       bool               `xml:"isDefault"`
	Tags            set[xTag]          `xml:"tagSet"`
	Ipv6Assocs      set[xVpcIPv6Assoc] `xml:"ipv6CidrBlockAssociationSet"`
}

type describeVpcsResp struct {
	ec2Resp
	Vpcs      set[xVpc] `xml:"vpcSet"`
	NextToken string    `xml:"nextToken,omitempty"`
}

// isDefault is the name the EC2 API reference gave the is-default filter
// until 2018 (DescribeVpcs, Filter.N: "isDefault - Indicates whether the
// VPC is the default VPC"); EC2 still takes both.
var vpcFilters = []string{"vpc-id", "cidr", "cidr-block-association.cidr-block", "cidr-block-association.association-id",
	"cidr-block-association.state", "instance-tenancy", "state", "is-default", "isDefault", "owner-id", "dhcp-options-id",
	"ipv6-cidr-block-association.ipv6-cidr-block", "ipv6-cidr-block-association.association-id", "ipv6-cidr-block-association.state",
	"ipv6-cidr-block-association.ipv6-pool"}

func (s *Account) describeVpcs(r *request) (any, error) {
	ids := r.list("VpcId")
	fs, err := r.filters(vpcFilters...)
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	if _, err := lookupAll(ids, st.vpc, "InvalidVpcID.NotFound", "vpc"); err != nil {
		return nil, err
	}
	out := &describeVpcsResp{Vpcs: set[xVpc]{Items: []xVpc{}}}
	for _, v := range st.vpcs {
		if !named(ids, v.id) {
			continue
		}
		x := st.xVpc(v)
		ok := match(fs, v.tags, func(name string) []string {
			switch name {
			case "vpc-id":
				return []string{x.VpcID}
			case "cidr":
				return []string{x.CidrBlock}
			case "instance-tenancy":
				return []string{x.InstanceTenancy}
			case "state":
				return []string{x.State}
			case "is-default", "isDefault":
				return []string{boolStr(x.IsDefault)}
			case "owner-id":
				return []string{x.OwnerID}
			case "dhcp-options-id":
				return []string{x.DhcpOptionsID}
			}
			var out []string
			for _, a := range x.CidrAssocs.Items {
				switch name {
				case "cidr-block-association.cidr-block":
					out = append(out, a.CidrBlock)
				case "cidr-block-association.association-id":
					out = append(out, a.AssociationID)
				case "cidr-block-association.state":
					out = append(out, a.State.State)
				}
			}
			for _, a := range x.Ipv6Assocs.Items {
				switch name {
				case "ipv6-cidr-block-association.ipv6-cidr-block":
					out = append(out, a.Ipv6CidrBlock)
				case "ipv6-cidr-block-association.association-id":
					out = append(out, a.AssociationID)
				case "ipv6-cidr-block-association.state":
					out = append(out, a.State.State)
				case "ipv6-cidr-block-association.ipv6-pool":
					out = append(out, a.Ipv6Pool)
				}
			}
			return out
		})
		if ok {
			out.Vpcs.Items = append(out.Vpcs.Items, x)
		}
	}
	var perr error
	if out.Vpcs.Items, out.NextToken, perr = paginate(r, out.Vpcs.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

type xSubnet struct {
	SubnetID                string                `xml:"subnetId"`
	SubnetArn               string                `xml:"subnetArn"`
	State                   string                `xml:"state"`
	VpcID                   string                `xml:"vpcId"`
	OwnerID                 string                `xml:"ownerId"`
	CidrBlock               string                `xml:"cidrBlock,omitempty"`
	AvailableIPAddressCount int                   `xml:"availableIpAddressCount"`
	AvailabilityZone        string                `xml:"availabilityZone"`
	AvailabilityZoneID      string                `xml:"availabilityZoneId"`
	DefaultForAz            bool                  `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool                  `xml:"mapPublicIpOnLaunch"`
	Tags                    set[xTag]             `xml:"tagSet"`
	Ipv6Assocs              set[xSubnetIPv6Assoc] `xml:"ipv6CidrBlockAssociationSet"`
	AssignIpv6OnCreation    bool                  `xml:"assignIpv6AddressOnCreation"`
	Ipv6Native              bool                  `xml:"ipv6Native"`
	EnableDns64             bool                  `xml:"enableDns64"`
	PrivateDNSNameOptions   xPrivateDNSOptions    `xml:"privateDnsNameOptionsOnLaunch"`
}

type describeSubnetsResp struct {
	ec2Resp
	Subnets   set[xSubnet] `xml:"subnetSet"`
	NextToken string       `xml:"nextToken,omitempty"`
}

// subnetFilters are DescribeSubnets' filters, with the older spellings
// the API reference still lists (availabilityZone, cidrBlock, defaultForAz).
var subnetFilters = []string{"subnet-id", "vpc-id", "cidr", "cidr-block", "cidrBlock", "availability-zone", "availabilityZone",
	"availability-zone-id", "state", "default-for-az", "defaultForAz", "owner-id",
	"ipv6-cidr-block-association.ipv6-cidr-block", "ipv6-cidr-block-association.association-id", "ipv6-cidr-block-association.state"}

func (s *Account) describeSubnets(r *request) (any, error) {
	ids := r.list("SubnetId")
	fs, err := r.filters(subnetFilters...)
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	if _, err := lookupAll(ids, st.subnet, "InvalidSubnetID.NotFound", "subnet"); err != nil {
		return nil, err
	}
	out := &describeSubnetsResp{Subnets: set[xSubnet]{Items: []xSubnet{}}}
	for _, sn := range st.subnets {
		if !named(ids, sn.id) {
			continue
		}
		x := st.xSubnet(sn)
		ok := match(fs, sn.tags, func(name string) []string {
			switch name {
			case "subnet-id":
				return []string{x.SubnetID}
			case "vpc-id":
				return []string{x.VpcID}
			case "cidr", "cidr-block", "cidrBlock":
				return []string{x.CidrBlock}
			case "availability-zone", "availabilityZone":
				return []string{x.AvailabilityZone}
			case "availability-zone-id":
				return []string{x.AvailabilityZoneID}
			case "state":
				return []string{x.State}
			case "default-for-az", "defaultForAz":
				return []string{boolStr(x.DefaultForAz)}
			case "owner-id":
				return []string{x.OwnerID}
			}
			return nil
		})
		if ok {
			out.Subnets.Items = append(out.Subnets.Items, x)
		}
	}
	var perr error
	if out.Subnets.Items, out.NextToken, perr = paginate(r, out.Subnets.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}
