package ec2

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Security groups, as the EC2 API reference describes them
// (CreateSecurityGroup, AuthorizeSecurityGroupIngress/Egress,
// RevokeSecurityGroupIngress/Egress, DeleteSecurityGroup,
// DescribeSecurityGroups, DescribeSecurityGroupRules) and the VPC User
// Guide's "Default security groups for your VPCs": every VPC has a group
// named "default" that cannot be deleted, allowing all traffic from
// itself in and everything out; a new group allows everything out and
// nothing in. vpcsim keeps the rules but does not filter the fabric's
// traffic by them.

type secGroup struct {
	id, name, desc, vpc string
	tags                map[string]string
	ingress, egress     []*sgRule
}

// sgRule is one rule: a protocol and port range and exactly one peer, as
// AWS keeps them since security group rule IDs (sgr-) exist;
// DescribeSecurityGroups groups them back into IpPermissions.
type sgRule struct {
	id         string
	proto      string // "-1", "tcp", "udp", "icmp", "icmpv6" or a number
	from, to   int    // -1 when the protocol has no ports
	cidr       string // IPv4 peer
	cidr6      string // IPv6 peer
	group      string // peer security group ID
	prefixList string
	desc       string
	tags       map[string]string // nil until tagged (taggable)
}

func (r *sgRule) samePeer(o *sgRule) bool {
	return r.proto == o.proto && r.from == o.from && r.to == o.to && r.cidr == o.cidr && r.cidr6 == o.cidr6 &&
		r.group == o.group && r.prefixList == o.prefixList
}

// Rules per group and direction, and groups per interface: the default
// quotas (Amazon VPC quotas, "Security groups").
const (
	maxRulesPerGroup  = 60
	maxGroupsPerIface = 5
)

var sgIDs = idKind{"sg", "InvalidGroupId.Malformed", "InvalidGroup.NotFound", "security group"}

func (st *state) secGroup(id string) *secGroup { x, _ := st.byID[id].(*secGroup); return x }

// addDefaultGroup creates vpc's default security group.
func (st *state) addDefaultGroup(ids idGen, vpcID string) *secGroup {
	g := &secGroup{id: ids.next("sg"), name: "default", desc: "default VPC security group", vpc: vpcID, tags: map[string]string{}}
	g.ingress = []*sgRule{{id: ids.next("sgr"), proto: "-1", from: -1, to: -1, group: g.id}}
	g.egress = st.allOutbound(ids, vpcID)
	st.sgs = append(st.sgs, g)
	st.byID[g.id] = g
	return g
}

// allOutbound is a new group's egress: all IPv4 traffic, and all IPv6
// traffic when its VPC has an IPv6 block ("If your VPC has an IPv6 CIDR
// block, we also add an outbound rule that allows all IPv6 traffic", VPC
// user guide, "Security group rules").
func (st *state) allOutbound(ids idGen, vpcID string) []*sgRule {
	out := []*sgRule{{id: ids.next("sgr"), proto: "-1", from: -1, to: -1, cidr: "0.0.0.0/0"}}
	if v := st.vpc(vpcID); v != nil && v.ipv6.cidr.IsValid() {
		out = append(out, &sgRule{id: ids.next("sgr"), proto: "-1", from: -1, to: -1, cidr6: "::/0"})
	}
	return out
}

// rule finds a rule by its ID, with its group and whether it is an
// egress rule; rl is nil when there is none.
func (st *state) rule(id string) (*secGroup, *sgRule, bool) {
	if !strings.HasPrefix(id, "sgr-") {
		return nil, nil, false
	}
	for _, g := range st.sgs {
		for _, rl := range g.egress {
			if rl.id == id {
				return g, rl, true
			}
		}
		for _, rl := range g.ingress {
			if rl.id == id {
				return g, rl, false
			}
		}
	}
	return nil, nil, false
}

// defaultGroup returns vpc's default security group.
func (st *state) defaultGroup(vpcID string) *secGroup {
	for _, g := range st.sgs {
		if g.vpc == vpcID && g.name == "default" {
			return g
		}
	}
	return nil
}

// groupByName finds a group by name in vpc ("" is the default VPC).
func (st *state) groupByName(name, vpcID string) *secGroup {
	if vpcID == "" {
		for _, v := range st.vpcs {
			if v.isDefault {
				vpcID = v.id
			}
		}
	}
	for _, g := range st.sgs {
		if g.name == name && g.vpc == vpcID {
			return g
		}
	}
	return nil
}

// lookupGroup finds the group a call names by GroupId or, in the default
// VPC, GroupName.
func (st *state) lookupGroup(r *request) (*secGroup, error) {
	if id := r.get("GroupId"); id != "" {
		if err := malformed(sgIDs.malformed, "sg", id); err != nil {
			return nil, err
		}
		if g := st.secGroup(id); g != nil {
			return g, nil
		}
		return nil, errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	name := r.get("GroupName")
	if name == "" {
		return nil, missingParam("groupId")
	}
	if g := st.groupByName(name, ""); g != nil {
		return g, nil
	}
	return nil, st.groupNameNotFound(name)
}

func (st *state) groupNameNotFound(name string) *apiError {
	for _, v := range st.vpcs {
		if v.isDefault {
			return errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, v.id)
		}
	}
	return errorf(http.StatusBadRequest, "VPCIdNotSpecified", "No default VPC for this user")
}

// groupsFor resolves the groups of a new or modified interface in vpc:
// the IDs given (each in vpc), else vpc's default group.
func (st *state) groupsFor(ids []string, vpcID string) ([]string, error) {
	if len(ids) == 0 {
		if g := st.defaultGroup(vpcID); g != nil {
			return []string{g.id}, nil
		}
		return nil, nil
	}
	if len(ids) > maxGroupsPerIface {
		return nil, errorf(http.StatusBadRequest, "SecurityGroupsPerInterfaceLimitExceeded", "The maximum number of security groups per interface has been reached.")
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if err := malformed(sgIDs.malformed, "sg", id); err != nil {
			return nil, err
		}
		g := st.secGroup(id)
		if g == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		if g.vpc != vpcID {
			return nil, invalidParam("Security group %s and subnet belong to different networks.", id)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// groupNamesToIDs resolves RunInstances' SecurityGroup.N (names) in vpc.
func (st *state) groupNamesToIDs(names []string, vpcID string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		g := st.groupByName(n, vpcID)
		if g == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", n, vpcID)
		}
		out = append(out, g.id)
	}
	return out, nil
}

func (st *state) xGroups(ids []string) set[xGroup] {
	out := set[xGroup]{Items: []xGroup{}}
	for _, id := range ids {
		x := xGroup{GroupID: id}
		if g := st.secGroup(id); g != nil {
			x.GroupName = g.name
		}
		out.Items = append(out.Items, x)
	}
	return out
}

type createSecurityGroupResp struct {
	ec2Resp
	GroupID          string    `xml:"groupId"`
	SecurityGroupArn string    `xml:"securityGroupArn"`
	Tags             set[xTag] `xml:"tagSet"`
}

// createSecurityGroup creates a group in VpcId or the default VPC
// (VPCIdNotSpecified without one). Names are unique per VPC
// (InvalidGroup.Duplicate), may not start with sg- and may not be
// "default" (InvalidParameterValue), up to 255 characters.
func (s *Account) createSecurityGroup(r *request) (any, error) {
	name, err := r.required("GroupName", "groupName")
	if err != nil {
		return nil, err
	}
	desc, err := r.required("GroupDescription", "groupDescription")
	if err != nil {
		return nil, err
	}
	switch {
	case len(name) > 255:
		return nil, invalidParam("Invalid security group name. Valid names are non-empty strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*")
	case strings.HasPrefix(strings.ToLower(name), "sg-"):
		return nil, invalidParam("Group names may not be in the format sg-*")
	case name == "default":
		return nil, invalidParam("Cannot use reserved security group name: default")
	case len(desc) > 255:
		return nil, invalidParam("Invalid security group description. Valid descriptions are strings less than 256 characters from the following set:  a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*")
	}
	out := &createSecurityGroupResp{}
	err = s.mutateIn(r, func(st *state) error {
		vid := r.get("VpcId")
		if vid == "" {
			for _, v := range st.vpcs {
				if v.isDefault {
					vid = v.id
				}
			}
			if vid == "" {
				return errorf(http.StatusBadRequest, "VPCIdNotSpecified", "No default VPC for this user")
			}
		} else if st.vpc(vid) == nil {
			return notFound("InvalidVpcID.NotFound", "vpc", vid)
		}
		if st.groupByName(name, vid) != nil {
			return errorf(http.StatusBadRequest, "InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vid)
		}
		g := &secGroup{id: s.ids.next("sg"), name: name, desc: desc, vpc: vid, tags: tagSpecs(r, "security-group")}
		g.egress = st.allOutbound(s.ids, vid)
		st.sgs = append(st.sgs, g)
		st.byID[g.id] = g
		out.GroupID, out.SecurityGroupArn, out.Tags = g.id, st.arn("security-group", g.id), tagSet(g.tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deleteSecurityGroup deletes a group that no interface uses and no other
// group's rule references (DependencyViolation); a VPC's default group
// cannot be deleted (CannotDelete).
func (s *Account) deleteSecurityGroup(r *request) (any, error) {
	out := &deleteSecurityGroupResp{Return: true}
	err := s.mutateIn(r, func(st *state) error {
		g, err := st.lookupGroup(r)
		if err != nil {
			return err
		}
		if g.name == "default" {
			return errorf(http.StatusBadRequest, "CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", g.id)
		}
		used := slices.ContainsFunc(st.enis, func(e *eni) bool { return slices.Contains(e.groups, g.id) })
		for _, o := range st.sgs {
			if o == g {
				continue
			}
			for _, rl := range slices.Concat(o.ingress, o.egress) {
				if rl.group == g.id {
					used = true
				}
			}
		}
		if used {
			return errorf(http.StatusBadRequest, "DependencyViolation", "resource %s has a dependent object", g.id)
		}
		st.sgs = slices.DeleteFunc(st.sgs, func(x *secGroup) bool { return x == g })
		delete(st.byID, g.id)
		out.GroupID = g.id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type deleteSecurityGroupResp struct {
	ec2Resp
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
}

// parsePermissions reads IpPermissions.N (or the legacy top-level
// IpProtocol, FromPort, ToPort, CidrIp, SourceSecurityGroupName) into one
// rule per peer; st resolves group names in vpc.
func (st *state) parsePermissions(r *request, g *secGroup, ids idGen) ([]*sgRule, error) {
	var prefixes []string
	for i := 1; ; i++ {
		p := "IpPermissions." + strconv.Itoa(i)
		has := false
		for k := range r.form {
			if strings.HasPrefix(k, p+".") {
				has = true
				break
			}
		}
		if !has {
			break
		}
		prefixes = append(prefixes, p+".")
	}
	if len(prefixes) == 0 && (r.get("IpProtocol") != "" || r.get("SourceSecurityGroupName") != "" || r.get("CidrIp") != "") {
		prefixes = []string{""}
	}
	var out []*sgRule
	for _, p := range prefixes {
		proto, from, to, err := parseProtoPorts(r.get(p+"IpProtocol"), r.get(p+"FromPort"), r.get(p+"ToPort"))
		if err != nil {
			return nil, err
		}
		add := func(x *sgRule) {
			x.id, x.proto, x.from, x.to = ids.next("sgr"), proto, from, to
			out = append(out, x)
		}
		peers := 0
		if p == "" {
			if c := r.get("CidrIp"); c != "" {
				if _, err := parseRuleCIDR(c, false); err != nil {
					return nil, err
				}
				add(&sgRule{cidr: c})
				peers++
			}
			if n := r.get("SourceSecurityGroupName"); n != "" {
				o := st.groupByName(n, g.vpc)
				if o == nil {
					return nil, errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", n)
				}
				add(&sgRule{group: o.id})
				peers++
			}
		}
		for j := 1; r.form.Has(p + "IpRanges." + strconv.Itoa(j) + ".CidrIp"); j++ {
			q := p + "IpRanges." + strconv.Itoa(j) + "."
			c, err := parseRuleCIDR(r.get(q+"CidrIp"), false)
			if err != nil {
				return nil, err
			}
			add(&sgRule{cidr: c, desc: r.get(q + "Description")})
			peers++
		}
		for j := 1; r.form.Has(p + "Ipv6Ranges." + strconv.Itoa(j) + ".CidrIpv6"); j++ {
			q := p + "Ipv6Ranges." + strconv.Itoa(j) + "."
			c, err := parseRuleCIDR(r.get(q+"CidrIpv6"), true)
			if err != nil {
				return nil, err
			}
			add(&sgRule{cidr6: c, desc: r.get(q + "Description")})
			peers++
		}
		for j := 1; ; j++ {
			q := p + "Groups." + strconv.Itoa(j) + "."
			if !r.form.Has(q+"GroupId") && !r.form.Has(q+"GroupName") && !r.form.Has(q+"UserId") {
				break
			}
			var o *secGroup
			switch {
			case r.get(q+"GroupId") != "":
				o = st.secGroup(r.get(q + "GroupId"))
				if o == nil {
					return nil, errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", r.get(q+"GroupId"))
				}
			case r.get(q+"GroupName") != "":
				o = st.groupByName(r.get(q+"GroupName"), g.vpc)
				if o == nil {
					return nil, errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", r.get(q+"GroupName"))
				}
			default:
				return nil, missingParam("groupId")
			}
			add(&sgRule{group: o.id, desc: r.get(q + "Description")})
			peers++
		}
		for j := 1; r.form.Has(p + "PrefixListIds." + strconv.Itoa(j) + ".PrefixListId"); j++ {
			q := p + "PrefixListIds." + strconv.Itoa(j) + "."
			add(&sgRule{prefixList: r.get(q + "PrefixListId"), desc: r.get(q + "Description")})
			peers++
		}
		if peers == 0 {
			// AWS accepts a permission without a peer and adds nothing.
			continue
		}
	}
	return out, nil
}

// parseProtoPorts checks a permission's protocol and ports as EC2 does:
// names or numbers, -1 for all (no ports), both ports for tcp and udp.
func parseProtoPorts(proto, fromS, toS string) (string, int, int, error) {
	switch strings.ToLower(proto) {
	case "":
		return "", 0, 0, missingParam("ipPermissions.ipProtocol")
	case "-1", "all":
		return "-1", -1, -1, nil
	case "6":
		proto = "tcp"
	case "17":
		proto = "udp"
	case "1":
		proto = "icmp"
	case "58":
		proto = "icmpv6"
	default:
		proto = strings.ToLower(proto)
	}
	if n, err := strconv.Atoi(proto); err == nil {
		if n < 0 || n > 255 {
			return "", 0, 0, invalidParam("Invalid value '%s' for IP protocol. Unknown protocol.", proto)
		}
		return proto, -1, -1, nil
	} else if !slices.Contains([]string{"tcp", "udp", "icmp", "icmpv6"}, proto) {
		return "", 0, 0, invalidParam("Invalid value '%s' for IP protocol. Unknown protocol.", proto)
	}
	from, to := -1, -1
	var err1, err2 error
	if fromS != "" {
		from, err1 = strconv.Atoi(fromS)
	}
	if toS != "" {
		to, err2 = strconv.Atoi(toS)
	}
	if err1 != nil || err2 != nil {
		return "", 0, 0, invalidParam("Invalid value for portRange.")
	}
	if proto == "tcp" || proto == "udp" {
		if fromS == "" || toS == "" {
			return "", 0, 0, invalidParam("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.")
		}
		if from < 0 || to > 65535 || from > to {
			return "", 0, 0, invalidParam("Invalid TCP/UDP port range")
		}
	}
	return proto, from, to, nil
}

func parseRuleCIDR(c string, v6 bool) (string, error) {
	p, err := netip.ParsePrefix(c)
	if err != nil || p.Addr().Is4() == v6 {
		return "", invalidParam("CIDR block %s is malformed", c)
	}
	return c, nil
}

func (r *sgRule) describe() string {
	peer := r.cidr + r.cidr6 + r.group + r.prefixList
	proto := strings.ToUpper(r.proto)
	if r.proto == "-1" {
		proto = "ALL"
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, proto, r.from, r.to)
}

type revokeResp struct {
	ec2Resp
	Return  bool             `xml:"return"`
	Unknown set[xPermission] `xml:"unknownIpPermissionSet"`
}

type sgRulesResp struct {
	ec2Resp
	Return bool         `xml:"return"`
	Rules  set[xSGRule] `xml:"securityGroupRuleSet"`
}

// authorize adds the call's rules to g's ingress or egress. A rule that
// exists already is InvalidPermission.Duplicate, past 60 rules
// RulesPerSecurityGroupLimitExceeded; nothing is added on any error.
func (s *Account) authorizeRules(r *request, egress bool) (any, error) {
	out := &sgRulesResp{Return: true, Rules: set[xSGRule]{Items: []xSGRule{}}}
	err := s.mutateIn(r, func(st *state) error {
		if egress && r.get("GroupId") == "" {
			return missingParam("groupId")
		}
		g, err := st.lookupGroup(r)
		if err != nil {
			return err
		}
		rules, err := st.parsePermissions(r, g, s.ids)
		if err != nil {
			return err
		}
		list := &g.ingress
		if egress {
			list = &g.egress
		}
		// The quota is checked on the count first: a call past it is
		// refused whatever its rules are.
		if len(*list)+len(rules) > maxRulesPerGroup {
			return errorf(http.StatusBadRequest, "RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
		}
		for i, rl := range rules {
			if slices.ContainsFunc(*list, rl.samePeer) || slices.ContainsFunc(rules[:i], rl.samePeer) {
				return errorf(http.StatusBadRequest, "InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", rl.describe())
			}
		}
		*list = append(*list, rules...)
		tags := tagSpecs(r, "security-group-rule")
		for _, rl := range rules {
			if len(tags) > 0 {
				rl.tags = maps.Clone(tags)
			}
			out.Rules.Items = append(out.Rules.Items, st.xRule(g, rl, egress))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// revokeRules removes the call's rules (by permission or by
// SecurityGroupRuleId.N). A rule the group does not have is
// InvalidPermission.NotFound in a non-default VPC, and nothing is revoked;
// in the default VPC the call succeeds and lists it in
// unknownIpPermissionSet (API reference, RevokeSecurityGroupIngress).
func (s *Account) revokeRules(r *request, egress bool) (any, error) {
	out := &revokeResp{Return: true, Unknown: set[xPermission]{Items: []xPermission{}}}
	err := s.mutateIn(r, func(st *state) error {
		if egress && r.get("GroupId") == "" {
			return missingParam("groupId")
		}
		g, err := st.lookupGroup(r)
		if err != nil {
			return err
		}
		list := &g.ingress
		if egress {
			list = &g.egress
		}
		var drop []*sgRule
		if ids := r.list("SecurityGroupRuleId"); len(ids) > 0 {
			for _, id := range ids {
				i := slices.IndexFunc(*list, func(x *sgRule) bool { return x.id == id })
				if i < 0 {
					return errorf(http.StatusBadRequest, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
				}
				drop = append(drop, (*list)[i])
			}
		} else {
			rules, err := st.parsePermissions(r, g, s.ids)
			if err != nil {
				return err
			}
			inDefault := false
			if v := st.vpc(g.vpc); v != nil {
				inDefault = v.isDefault
			}
			var unknown []*sgRule
			for _, rl := range rules {
				i := slices.IndexFunc(*list, rl.samePeer)
				switch {
				case i >= 0:
					drop = append(drop, (*list)[i])
				case inDefault:
					unknown = append(unknown, rl)
				default:
					return errorf(http.StatusBadRequest, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
				}
			}
			out.Unknown = st.permissions(unknown)
		}
		*list = slices.DeleteFunc(*list, func(x *sgRule) bool { return slices.Contains(drop, x) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Account) authorizeSecurityGroupIngress(r *request) (any, error) {
	return s.authorizeRules(r, false)
}
func (s *Account) authorizeSecurityGroupEgress(r *request) (any, error) {
	return s.authorizeRules(r, true)
}
func (s *Account) revokeSecurityGroupIngress(r *request) (any, error) { return s.revokeRules(r, false) }
func (s *Account) revokeSecurityGroupEgress(r *request) (any, error)  { return s.revokeRules(r, true) }

type xIPRange struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type xIPv6Range struct {
	CidrIPv6    string `xml:"cidrIpv6"`
	Description string `xml:"description,omitempty"`
}

type xGroupPair struct {
	UserID      string `xml:"userId"`
	GroupID     string `xml:"groupId"`
	GroupName   string `xml:"groupName,omitempty"`
	VpcID       string `xml:"vpcId,omitempty"`
	Description string `xml:"description,omitempty"`
}

type xPrefixListID struct {
	PrefixListID string `xml:"prefixListId"`
	Description  string `xml:"description,omitempty"`
}

type xPermission struct {
	IPProtocol string             `xml:"ipProtocol"`
	FromPort   *int               `xml:"fromPort,omitempty"`
	ToPort     *int               `xml:"toPort,omitempty"`
	Groups     set[xGroupPair]    `xml:"groups"`
	IPRanges   set[xIPRange]      `xml:"ipRanges"`
	IPv6Ranges set[xIPv6Range]    `xml:"ipv6Ranges"`
	PrefixList set[xPrefixListID] `xml:"prefixListIds"`
}

type xSecurityGroup struct {
	OwnerID          string           `xml:"ownerId"`
	GroupID          string           `xml:"groupId"`
	GroupName        string           `xml:"groupName"`
	Description      string           `xml:"groupDescription"`
	VpcID            string           `xml:"vpcId"`
	SecurityGroupArn string           `xml:"securityGroupArn"`
	Ingress          set[xPermission] `xml:"ipPermissions"`
	Egress           set[xPermission] `xml:"ipPermissionsEgress"`
	Tags             set[xTag]        `xml:"tagSet"`
}

// permissions groups rules by protocol and ports, in the order first seen,
// as DescribeSecurityGroups reports them.
func (st *state) permissions(rules []*sgRule) set[xPermission] {
	out := set[xPermission]{Items: []xPermission{}}
	idx := map[[3]string]int{}
	for _, rl := range rules {
		k := [3]string{rl.proto, strconv.Itoa(rl.from), strconv.Itoa(rl.to)}
		i, ok := idx[k]
		if !ok {
			p := xPermission{IPProtocol: rl.proto, Groups: set[xGroupPair]{Items: []xGroupPair{}}, IPRanges: set[xIPRange]{Items: []xIPRange{}},
				IPv6Ranges: set[xIPv6Range]{Items: []xIPv6Range{}}, PrefixList: set[xPrefixListID]{Items: []xPrefixListID{}}}
			if rl.proto != "-1" && (rl.from != -1 || rl.to != -1 || rl.proto == "icmp" || rl.proto == "icmpv6" || rl.proto == "tcp" || rl.proto == "udp") {
				from, to := rl.from, rl.to
				p.FromPort, p.ToPort = &from, &to
			}
			out.Items = append(out.Items, p)
			i = len(out.Items) - 1
			idx[k] = i
		}
		p := &out.Items[i]
		switch {
		case rl.cidr != "":
			p.IPRanges.Items = append(p.IPRanges.Items, xIPRange{CidrIP: rl.cidr, Description: rl.desc})
		case rl.cidr6 != "":
			p.IPv6Ranges.Items = append(p.IPv6Ranges.Items, xIPv6Range{CidrIPv6: rl.cidr6, Description: rl.desc})
		case rl.group != "":
			x := xGroupPair{UserID: st.account, GroupID: rl.group, Description: rl.desc}
			p.Groups.Items = append(p.Groups.Items, x)
		case rl.prefixList != "":
			p.PrefixList.Items = append(p.PrefixList.Items, xPrefixListID{PrefixListID: rl.prefixList, Description: rl.desc})
		}
	}
	return out
}

func (st *state) xSecurityGroup(g *secGroup) xSecurityGroup {
	return xSecurityGroup{OwnerID: st.account, GroupID: g.id, GroupName: g.name, Description: g.desc, VpcID: g.vpc,
		SecurityGroupArn: st.arn("security-group", g.id),
		Ingress:          st.permissions(g.ingress), Egress: st.permissions(g.egress), Tags: tagSet(g.tags)}
}

type describeSecurityGroupsResp struct {
	ec2Resp
	Groups    set[xSecurityGroup] `xml:"securityGroupInfo"`
	NextToken string              `xml:"nextToken,omitempty"`
}

var sgFilters = []string{"group-id", "group-name", "description", "vpc-id", "owner-id",
	"ip-permission.protocol", "ip-permission.from-port", "ip-permission.to-port", "ip-permission.cidr",
	"ip-permission.ipv6-cidr", "ip-permission.group-id", "ip-permission.group-name", "ip-permission.prefix-list-id",
	"ip-permission.user-id",
	"egress.ip-permission.protocol", "egress.ip-permission.from-port", "egress.ip-permission.to-port",
	"egress.ip-permission.cidr", "egress.ip-permission.ipv6-cidr", "egress.ip-permission.group-id",
	"egress.ip-permission.group-name", "egress.ip-permission.prefix-list-id", "egress.ip-permission.user-id"}

// describeSecurityGroups lists groups by GroupId.N, GroupName.N (default
// VPC) and filters; a named group that does not exist is
// InvalidGroup.NotFound.
func (s *Account) describeSecurityGroups(r *request) (any, error) {
	ids, names := r.list("GroupId"), r.list("GroupName")
	fs, err := r.filters(sgFilters...)
	if err != nil {
		return nil, err
	}
	if err := malformed(sgIDs.malformed, "sg", ids...); err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if st.secGroup(id) == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	}
	for _, n := range names {
		if st.groupByName(n, "") == nil {
			return nil, st.groupNameNotFound(n)
		}
	}
	var groups []xSecurityGroup
	for _, g := range st.sgs {
		if !named(ids, g.id) {
			continue
		}
		if len(names) > 0 && (!slices.Contains(names, g.name) || st.groupByName(g.name, "") != g) {
			continue
		}
		ok := match(fs, g.tags, func(name string) []string {
			rules := g.ingress
			if n, ok := strings.CutPrefix(name, "egress."); ok {
				name, rules = n, g.egress
			}
			var vals []string
			for _, rl := range rules {
				switch name {
				case "ip-permission.protocol":
					vals = append(vals, rl.proto)
				case "ip-permission.from-port":
					vals = append(vals, strconv.Itoa(rl.from))
				case "ip-permission.to-port":
					vals = append(vals, strconv.Itoa(rl.to))
				case "ip-permission.cidr":
					vals = append(vals, rl.cidr)
				case "ip-permission.ipv6-cidr":
					vals = append(vals, rl.cidr6)
				case "ip-permission.group-id":
					vals = append(vals, rl.group)
				case "ip-permission.group-name":
					if o := st.secGroup(rl.group); o != nil {
						vals = append(vals, o.name)
					}
				case "ip-permission.prefix-list-id":
					vals = append(vals, rl.prefixList)
				case "ip-permission.user-id":
					if rl.group != "" {
						vals = append(vals, st.account)
					}
				}
			}
			switch name {
			case "group-id":
				return []string{g.id}
			case "group-name":
				return []string{g.name}
			case "description":
				return []string{g.desc}
			case "vpc-id":
				return []string{g.vpc}
			case "owner-id":
				return []string{st.account}
			}
			return vals
		})
		if ok {
			groups = append(groups, st.xSecurityGroup(g))
		}
	}
	page, next, err := paginate(r, groups, "")
	if err != nil {
		return nil, err
	}
	return &describeSecurityGroupsResp{Groups: set[xSecurityGroup]{Items: page}, NextToken: next}, nil
}

type xSGRule struct {
	ID          string       `xml:"securityGroupRuleId"`
	GroupID     string       `xml:"groupId"`
	GroupOwner  string       `xml:"groupOwnerId"`
	IsEgress    bool         `xml:"isEgress"`
	IPProtocol  string       `xml:"ipProtocol"`
	FromPort    int          `xml:"fromPort"`
	ToPort      int          `xml:"toPort"`
	CidrIPv4    string       `xml:"cidrIpv4,omitempty"`
	CidrIPv6    string       `xml:"cidrIpv6,omitempty"`
	PrefixList  string       `xml:"prefixListId,omitempty"`
	Referenced  *xReferenced `xml:"referencedGroupInfo,omitempty"`
	Description string       `xml:"description,omitempty"`
	ARN         string       `xml:"securityGroupRuleArn"`
	Tags        set[xTag]    `xml:"tagSet"`
}

type xReferenced struct {
	GroupID string `xml:"groupId"`
	UserID  string `xml:"userId"`
}

func (st *state) xRule(g *secGroup, rl *sgRule, egress bool) xSGRule {
	x := xSGRule{ID: rl.id, GroupID: g.id, GroupOwner: st.account, IsEgress: egress, IPProtocol: rl.proto,
		FromPort: rl.from, ToPort: rl.to, CidrIPv4: rl.cidr, CidrIPv6: rl.cidr6, PrefixList: rl.prefixList,
		Description: rl.desc, ARN: st.arn("security-group-rule", rl.id), Tags: tagSet(rl.tags)}
	if rl.group != "" {
		x.Referenced = &xReferenced{GroupID: rl.group, UserID: st.account}
	}
	return x
}

type describeSGRulesResp struct {
	ec2Resp
	Rules     set[xSGRule] `xml:"securityGroupRuleSet"`
	NextToken string       `xml:"nextToken,omitempty"`
}

// describeSecurityGroupRules lists rules by SecurityGroupRuleId.N and the
// group-id, security-group-rule-id and tag filters, each group's egress
// rules first. As EC2 answers in moto's aws_verified
// test_invalid_security_group_id_in_rules_search, a group-id that is not
// an sg- ID is InvalidGroupId.Malformed, one that does not exist matches
// nothing, and a rule ID that does not exist is
// InvalidSecurityGroupRuleId.NotFound.
func (s *Account) describeSecurityGroupRules(r *request) (any, error) {
	ids := r.list("SecurityGroupRuleId")
	fs, err := r.filters("group-id", "security-group-rule-id")
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		if f.name != "group-id" {
			continue
		}
		for _, v := range f.values {
			if !strings.HasPrefix(v, "sg-") {
				return nil, errorf(http.StatusBadRequest, "InvalidGroupId.Malformed", "The security group ID '%s' is malformed", v)
			}
		}
	}
	st := s.lockIn(r)
	defer s.unlockState()
	for _, id := range ids {
		if _, rl, _ := st.rule(id); rl == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
		}
	}
	var rules []xSGRule
	for _, g := range st.sgs {
		for _, dir := range []struct {
			rules  []*sgRule
			egress bool
		}{{g.egress, true}, {g.ingress, false}} {
			for _, rl := range dir.rules {
				if !named(ids, rl.id) {
					continue
				}
				if match(fs, rl.tags, func(name string) []string {
					if name == "group-id" {
						return []string{g.id}
					}
					return []string{rl.id}
				}) {
					rules = append(rules, st.xRule(g, rl, dir.egress))
				}
			}
		}
	}
	page, next, err := paginate(r, rules, "")
	if err != nil {
		return nil, err
	}
	return &describeSGRulesResp{Rules: set[xSGRule]{Items: page}, NextToken: next}, nil
}
