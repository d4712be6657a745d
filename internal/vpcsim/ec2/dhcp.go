package ec2

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// dhcpOptions is a DHCP options set (API reference, CreateDhcpOptions).
// Each region has a default set, which a new VPC uses, with the
// region's domain name (ec2.internal in us-east-1, REGION.compute.internal
// elsewhere) and AmazonProvidedDNS (VPC user guide, "DHCP option sets
// concepts").
type dhcpOptions struct {
	id     string
	config [][]string // key, values...
	tags   map[string]string
}

func (d *dhcpOptions) tagging() (map[string]string, string) { return d.tags, "dhcp-options" }

type xDhcpValue struct {
	Value string `xml:"value"`
}

type xDhcpConfig struct {
	Key    string          `xml:"key"`
	Values set[xDhcpValue] `xml:"valueSet"`
}

type xDhcpOptions struct {
	Config  set[xDhcpConfig] `xml:"dhcpConfigurationSet"`
	ID      string           `xml:"dhcpOptionsId"`
	OwnerID string           `xml:"ownerId"`
	Tags    set[xTag]        `xml:"tagSet"`
}

func (st *state) xDhcpOptions(d *dhcpOptions) xDhcpOptions {
	x := xDhcpOptions{ID: d.id, OwnerID: st.account, Tags: tagSet(d.tags), Config: set[xDhcpConfig]{Items: []xDhcpConfig{}}}
	for _, kv := range d.config {
		c := xDhcpConfig{Key: kv[0], Values: set[xDhcpValue]{Items: []xDhcpValue{}}}
		for _, v := range kv[1:] {
			c.Values.Items = append(c.Values.Items, xDhcpValue{v})
		}
		x.Config.Items = append(x.Config.Items, c)
	}
	return x
}

// defaultDhcpID is the ID of the region's default set.
func (st *state) defaultDhcpID() string {
	return "dopt-" + strconv.FormatUint(fnv64(st.account)&0xfffffffffffffff, 16)
}

// ensureDefaultDhcp makes the region's default set an object (lazily,
// so that a world without DHCP calls is unchanged) unless it was deleted.
func (st *state) ensureDefaultDhcp() {
	id := st.defaultDhcpID()
	if st.byID[id] != nil || st.net.noDefaultDhcp {
		return
	}
	domain := st.region + ".compute.internal"
	if st.region == "us-east-1" {
		domain = "ec2.internal"
	}
	d := &dhcpOptions{id: id, tags: map[string]string{}, config: [][]string{{"domain-name", domain}, {"domain-name-servers", "AmazonProvidedDNS"}}}
	st.net.dhcp = append([]*dhcpOptions{d}, st.net.dhcp...)
	st.add(id, d)
}

// vpcDhcpOptions is the DhcpOptionsId DescribeVpcs reports: the set
// associated with AssociateDhcpOptions, "default" for none, else the
// region's default set.
func (st *state) vpcDhcpOptions(v *vpc) string {
	if id, ok := st.net.vpcDhcp[v.id]; ok {
		return id
	}
	if st.net.noDefaultDhcp {
		return "default"
	}
	return st.defaultDhcpID()
}

// dhcpKeys are the options CreateDhcpOptions takes and how many values
// each holds (API reference, NewDhcpConfiguration and the VPC user guide's
// "DHCP option sets concepts": up to four name servers, NTP servers and
// NetBIOS name servers; one domain name, node type and lease time).
var dhcpKeys = map[string]int{"domain-name-servers": 4, "domain-name": 1, "ntp-servers": 4,
	"netbios-name-servers": 4, "netbios-node-type": 1, "ipv6-address-preferred-lease-time": 1}

type createDhcpOptionsResp struct {
	ec2Resp
	DhcpOptions xDhcpOptions `xml:"dhcpOptions"`
}

func (s *Account) createDhcpOptions(r *request) (any, error) {
	d := &dhcpOptions{tags: tagSpecs(r, "dhcp-options")}
	for i := 1; r.form.Has("DhcpConfiguration." + strconv.Itoa(i) + ".Key"); i++ {
		p := "DhcpConfiguration." + strconv.Itoa(i)
		key := r.get(p + ".Key")
		max, ok := dhcpKeys[key]
		if !ok {
			return nil, invalidParam("Value (%s) for parameter name is invalid. Unknown DHCP option", key)
		}
		vals := r.list(p + ".Value")
		if len(vals) == 0 {
			return nil, invalidParam("Value for parameter %s is empty", key)
		}
		if len(vals) > max {
			return nil, invalidParam("Value (%s) for parameter %s is invalid. Too many values: at most %d", strings.Join(vals, ","), key, max)
		}
		if key == "netbios-node-type" && !slices.Contains([]string{"1", "2", "4", "8"}, vals[0]) {
			return nil, invalidParam("Value (%s) for parameter netbios-node-type is invalid. Valid values: 1, 2, 4, 8", vals[0])
		}
		if slices.ContainsFunc(d.config, func(kv []string) bool { return kv[0] == key }) {
			return nil, invalidParam("Value (%s) for parameter name is invalid. Duplicate DHCP option", key)
		}
		d.config = append(d.config, append([]string{key}, vals...))
	}
	if len(d.config) == 0 {
		return nil, missingParam("dhcpConfiguration")
	}
	out := &createDhcpOptionsResp{}
	err := s.mutateIn(r, func(st *state) error {
		st.ensureDefaultDhcp()
		d.id = s.ids.next("dopt")
		st.net.dhcp = append(st.net.dhcp, d)
		st.add(d.id, d)
		out.DhcpOptions = st.xDhcpOptions(d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func dhcpNotFound(id string) error {
	return notFound("InvalidDhcpOptionID.NotFound", "dhcpOption", id)
}

// associateDhcpOptions associates a set with a VPC, or none with
// "default" ("Specify default to associate no DHCP options with the VPC",
// API reference, AssociateDhcpOptions).
func (s *Account) associateDhcpOptions(r *request) (any, error) {
	id, err := r.required("DhcpOptionsId", "dhcpOptionsId")
	if err != nil {
		return nil, err
	}
	err = s.mutateIn(r, func(st *state) error {
		st.ensureDefaultDhcp()
		v, err := st.lookupVpc(r)
		if err != nil {
			return err
		}
		if id != "default" && st.dhcpOptions(id) == nil {
			return dhcpNotFound(id)
		}
		if st.net.vpcDhcp == nil {
			st.net.vpcDhcp = map[string]string{}
		}
		st.net.vpcDhcp[v.id] = id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

// deleteDhcpOptions deletes a set no VPC uses: "You must disassociate the
// set of DHCP options before you can delete it" (API reference,
// DeleteDhcpOptions), else DependencyViolation.
func (s *Account) deleteDhcpOptions(r *request) (any, error) {
	id, err := r.required("DhcpOptionsId", "dhcpOptionsId")
	if err != nil {
		return nil, err
	}
	err = s.mutateIn(r, func(st *state) error {
		st.ensureDefaultDhcp()
		if err := malformed("InvalidDhcpOptionsId.Malformed", "dopt", id); err != nil {
			return err
		}
		d := st.dhcpOptions(id)
		if d == nil {
			return dhcpNotFound(id)
		}
		if slices.ContainsFunc(st.vpcs, func(v *vpc) bool { return st.vpcDhcpOptions(v) == id }) {
			return errorf(http.StatusBadRequest, "DependencyViolation", "The dhcpOptions '%s' has dependencies and cannot be deleted.", id)
		}
		st.net.dhcp = slices.DeleteFunc(st.net.dhcp, func(x *dhcpOptions) bool { return x == d })
		delete(st.byID, id)
		if id == st.defaultDhcpID() {
			st.net.noDefaultDhcp = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type describeDhcpOptionsResp struct {
	ec2Resp
	DhcpOptions set[xDhcpOptions] `xml:"dhcpOptionsSet"`
	NextToken   string            `xml:"nextToken,omitempty"`
}

func (s *Account) describeDhcpOptions(r *request) (any, error) {
	ids := r.list("DhcpOptionsId")
	fs, err := r.filters("dhcp-options-id", "key", "value", "owner-id")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	st.ensureDefaultDhcp()
	for _, id := range ids {
		if st.dhcpOptions(id) == nil {
			return nil, dhcpNotFound(id)
		}
	}
	out := &describeDhcpOptionsResp{DhcpOptions: set[xDhcpOptions]{Items: []xDhcpOptions{}}}
	for _, d := range st.net.dhcp {
		if !named(ids, d.id) {
			continue
		}
		ok := match(fs, d.tags, func(name string) []string {
			var vals []string
			switch name {
			case "dhcp-options-id":
				return []string{d.id}
			case "owner-id":
				return []string{st.account}
			case "key":
				for _, kv := range d.config {
					vals = append(vals, kv[0])
				}
			case "value":
				for _, kv := range d.config {
					vals = append(vals, kv[1:]...)
				}
			}
			return vals
		})
		if ok {
			out.DhcpOptions.Items = append(out.DhcpOptions.Items, st.xDhcpOptions(d))
		}
	}
	var perr error
	if out.DhcpOptions.Items, out.NextToken, perr = paginate(r, out.DhcpOptions.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}
