package ec2

import (
	"net/http"
)

// subnetAttrs are the attributes ModifySubnetAttribute changes. vpcsim
// records and reports them; it does not act on them (an instance gets no
// public address from MapPublicIpOnLaunch, no IPv6 address from
// AssignIpv6AddressOnCreation, and vpcsim has no DNS64).
type subnetAttrs struct {
	mapPublicIP  bool   // MapPublicIpOnLaunch; true in a default subnet
	assignIPv6   bool   // AssignIpv6AddressOnCreation
	dns64        bool   // EnableDns64
	hostnameType string // PrivateDnsHostnameTypeOnLaunch; "" is ip-name
	dnsA         bool   // EnableResourceNameDnsARecordOnLaunch
	dnsAAAA      bool   // EnableResourceNameDnsAAAARecordOnLaunch
}

type xPrivateDNSOptions struct {
	HostnameType                    string `xml:"hostnameType"`
	EnableResourceNameDNSARecord    bool   `xml:"enableResourceNameDnsARecord"`
	EnableResourceNameDNSAAAARecord bool   `xml:"enableResourceNameDnsAAAARecord"`
}

func (a subnetAttrs) xPrivateDNS() xPrivateDNSOptions {
	h := a.hostnameType
	if h == "" {
		h = "ip-name"
	}
	return xPrivateDNSOptions{HostnameType: h, EnableResourceNameDNSARecord: a.dnsA, EnableResourceNameDNSAAAARecord: a.dnsAAAA}
}

// modifySubnetAttribute changes one attribute of a subnet per call ("You
// can only modify one attribute at a time", AWS CLI reference,
// modify-subnet-attribute): the booleans MapPublicIpOnLaunch,
// AssignIpv6AddressOnCreation, EnableDns64,
// EnableResourceNameDnsARecordOnLaunch and
// EnableResourceNameDnsAAAARecordOnLaunch (each as Name.Value), or
// PrivateDnsHostnameTypeOnLaunch (ip-name or resource-name). The
// attributes of customer-owned addresses and of LNIs are not modelled.
func (s *Account) modifySubnetAttribute(r *request) (any, error) {
	type boolAttr struct {
		param string
		field func(a *subnetAttrs) *bool
	}
	bools := []boolAttr{
		{"MapPublicIpOnLaunch", func(a *subnetAttrs) *bool { return &a.mapPublicIP }},
		{"AssignIpv6AddressOnCreation", func(a *subnetAttrs) *bool { return &a.assignIPv6 }},
		{"EnableDns64", func(a *subnetAttrs) *bool { return &a.dns64 }},
		{"EnableResourceNameDnsARecordOnLaunch", func(a *subnetAttrs) *bool { return &a.dnsA }},
		{"EnableResourceNameDnsAAAARecordOnLaunch", func(a *subnetAttrs) *bool { return &a.dnsAAAA }},
	}
	var set func(a *subnetAttrs)
	n := 0
	for _, b := range bools {
		v, ok, err := r.boolean(b.param + ".Value")
		if err != nil {
			return nil, err
		}
		if ok {
			n++
			set = func(a *subnetAttrs) { *b.field(a) = v }
		}
	}
	if h := r.get("PrivateDnsHostnameTypeOnLaunch"); h != "" {
		if h != "ip-name" && h != "resource-name" {
			return nil, invalidParam("Value (%s) for parameter privateDnsHostnameTypeOnLaunch is invalid. Valid values are ip-name and resource-name.", h)
		}
		n++
		set = func(a *subnetAttrs) { a.hostnameType = h }
	}
	for _, p := range []string{"MapCustomerOwnedIpOnLaunch.Value", "CustomerOwnedIpv4Pool", "EnableLniAtDeviceIndex", "DisableLniAtDeviceIndex.Value"} {
		if r.get(p) != "" {
			return nil, invalidParam("vpcsim does not model the subnet attribute %s", p)
		}
	}
	if n != 1 {
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "You can only modify one attribute at a time.")
	}
	err := s.mutateIn(r, func(st *state) error {
		id, err := r.required("SubnetId", "subnetId")
		if err != nil {
			return err
		}
		sn := st.subnet(id)
		if sn == nil {
			return notFound("InvalidSubnetID.NotFound", "subnet", id)
		}
		set(&sn.attrs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}
