package ec2

import (
	"net/http"
	"slices"
	"strconv"
)

// ModifySecurityGroupRules and UpdateSecurityGroupRuleDescriptions{Ingress,
// Egress}: change a rule in place, keeping its ID (API reference
// ModifySecurityGroupRules: "Modifies the rules of a security group"),
// or only the descriptions of existing rules.

func init() {
	for name, spec := range map[string]actionSpec{
		"ModifySecurityGroupRules":                   {run: (*Account).modifySecurityGroupRules, resources: one(paramARN("security-group", "GroupId"))},
		"UpdateSecurityGroupRuleDescriptionsIngress": {run: (*Account).updateRuleDescriptionsIngress, resources: one(paramARN("security-group", "GroupId"))},
		"UpdateSecurityGroupRuleDescriptionsEgress":  {run: (*Account).updateRuleDescriptionsEgress, resources: one(paramARN("security-group", "GroupId"))},
	} {
		actions[name] = spec
	}
}

// parseRuleRequest reads one SecurityGroupRuleRequest under p: a
// protocol (required), both ports for TCP and UDP, and exactly one peer,
// with EC2's messages for each omission.
func (st *state) parseRuleRequest(r *request, p string) (*sgRule, error) {
	proto := r.get(p + "IpProtocol")
	if proto == "" {
		return nil, invalidParam("Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly.")
	}
	from, to := r.get(p+"FromPort"), r.get(p+"ToPort")
	if (proto == "tcp" || proto == "udp" || proto == "6" || proto == "17") && (from == "" || to == "") {
		return nil, invalidParam("Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
	}
	proto, f, t, err := parseProtoPorts(proto, from, to)
	if err != nil {
		return nil, err
	}
	rl := &sgRule{proto: proto, from: f, to: t, desc: r.get(p + "Description")}
	peers := 0
	if c := r.get(p + "CidrIpv4"); c != "" {
		if rl.cidr, err = parseRuleCIDR(c, false); err != nil {
			return nil, err
		}
		peers++
	}
	if c := r.get(p + "CidrIpv6"); c != "" {
		if rl.cidr6, err = parseRuleCIDR(c, true); err != nil {
			return nil, err
		}
		peers++
	}
	if pl := r.get(p + "PrefixListId"); pl != "" {
		rl.prefixList = pl
		peers++
	}
	if g := r.get(p + "ReferencedGroupId"); g != "" {
		if st.secGroup(g) == nil {
			return nil, errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", g)
		}
		rl.group = g
		peers++
	}
	switch {
	case peers == 0:
		return nil, missingParamMsg("The request must contain exactly one of: cidrIp, cidrIpv6, prefixListId, or referencedGroupId")
	case peers > 1:
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "Only one of cidrIp, cidrIpv6, prefixListId, or referencedGroupId can be specified")
	}
	return rl, nil
}

// modifySecurityGroupRules replaces the protocol, ports, peer and
// description of rules of GroupId by their IDs; a rule of another group
// is InvalidSecurityGroupRuleId.NotFound, one that would equal another
// rule InvalidPermission.Duplicate, and nothing changes on any error.
func (s *Account) modifySecurityGroupRules(r *request) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		if r.get("GroupId") == "" {
			return missingParam("groupId")
		}
		g, err := st.lookupGroup(r)
		if err != nil {
			return err
		}
		type change struct{ old, new *sgRule }
		var changes []change
		for i := 1; r.form.Has("SecurityGroupRule." + strconv.Itoa(i) + ".SecurityGroupRuleId"); i++ {
			p := "SecurityGroupRule." + strconv.Itoa(i) + "."
			id := r.get(p + "SecurityGroupRuleId")
			list := g.ingress
			j := slices.IndexFunc(list, func(x *sgRule) bool { return x.id == id })
			if j < 0 {
				list = g.egress
				j = slices.IndexFunc(list, func(x *sgRule) bool { return x.id == id })
			}
			if j < 0 {
				return errorf(http.StatusBadRequest, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
			nr, err := st.parseRuleRequest(r, p+"SecurityGroupRule.")
			if err != nil {
				return err
			}
			if slices.ContainsFunc(list, func(x *sgRule) bool { return x.id != id && x.samePeer(nr) }) {
				return errorf(http.StatusBadRequest, "InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", nr.describe())
			}
			changes = append(changes, change{old: list[j], new: nr})
		}
		if len(changes) == 0 {
			return missingParam("securityGroupRule")
		}
		for _, c := range changes {
			c.old.proto, c.old.from, c.old.to = c.new.proto, c.new.from, c.new.to
			c.old.cidr, c.old.cidr6, c.old.group, c.old.prefixList, c.old.desc = c.new.cidr, c.new.cidr6, c.new.group, c.new.prefixList, c.new.desc
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

func (s *Account) updateRuleDescriptionsIngress(r *request) (any, error) {
	return s.updateRuleDescriptions(r, false)
}

func (s *Account) updateRuleDescriptionsEgress(r *request) (any, error) {
	return s.updateRuleDescriptions(r, true)
}

// updateRuleDescriptions sets the descriptions of existing rules, named
// by IpPermissions (matched on protocol, ports and peer) or by
// SecurityGroupRuleDescription.N's rule IDs (API reference
// UpdateSecurityGroupRuleDescriptionsIngress: "If the security group
// rule has a description, it is replaced"); a rule the group does not
// have is InvalidPermission.NotFound. A description given as empty
// removes it.
func (s *Account) updateRuleDescriptions(r *request, egress bool) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		g, err := st.lookupGroup(r)
		if err != nil {
			return err
		}
		list := g.ingress
		if egress {
			list = g.egress
		}
		type change struct {
			rule *sgRule
			desc string
		}
		var changes []change
		for i := 1; r.form.Has("SecurityGroupRuleDescription." + strconv.Itoa(i) + ".SecurityGroupRuleId"); i++ {
			p := "SecurityGroupRuleDescription." + strconv.Itoa(i) + "."
			id := r.get(p + "SecurityGroupRuleId")
			j := slices.IndexFunc(list, func(x *sgRule) bool { return x.id == id })
			if j < 0 {
				return errorf(http.StatusBadRequest, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
			changes = append(changes, change{list[j], r.get(p + "Description")})
		}
		rules, err := st.parsePermissions(r, g, s.ids)
		if err != nil {
			return err
		}
		for _, rl := range rules {
			j := slices.IndexFunc(list, rl.samePeer)
			if j < 0 {
				return errorf(http.StatusBadRequest, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			}
			changes = append(changes, change{list[j], rl.desc})
		}
		if len(changes) == 0 {
			return missingParam("ipPermissions")
		}
		for _, c := range changes {
			c.rule.desc = c.desc
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}
