package ec2

import "net/http"

// DescribeAddressesAttribute answers the domain-name attribute of Elastic
// IP addresses: the PTR record set for reverse DNS with
// ModifyAddressAttribute, which vpcsim does not model, so an address has
// none and is listed with its public IP and allocation ID only (API
// reference DescribeAddressesAttribute and AddressAttribute: ptrRecord
// "The pointer (PTR) record for the IP address").
func init() {
	actions["DescribeAddressesAttribute"] = actionSpec{run: (*Account).describeAddressesAttribute}
}

type xAddressAttribute struct {
	PublicIP     string `xml:"publicIp"`
	AllocationID string `xml:"allocationId"`
}

type describeAddressesAttributeResp struct {
	ec2Resp
	Addresses set[xAddressAttribute] `xml:"addressSet"`
	NextToken string                 `xml:"nextToken,omitempty"`
}

func (s *Account) describeAddressesAttribute(r *request) (any, error) {
	if a := r.get("Attribute"); a != "" && a != "domain-name" {
		return nil, invalidParam("Value (%s) for parameter attribute is invalid. Valid values: domain-name", a)
	}
	ids := r.list("AllocationId")
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.eip(id) == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", id)
		}
	}
	out := &describeAddressesAttributeResp{Addresses: set[xAddressAttribute]{Items: []xAddressAttribute{}}}
	for _, e := range st.eips {
		if named(ids, e.id) {
			out.Addresses.Items = append(out.Addresses.Items, xAddressAttribute{PublicIP: e.ip.String(), AllocationID: e.id})
		}
	}
	var perr error
	if out.Addresses.Items, out.NextToken, perr = paginate(r, out.Addresses.Items, idsParam(r, "AllocationId", "allocationIds")); perr != nil {
		return nil, perr
	}
	return out, nil
}
