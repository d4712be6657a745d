package ec2

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// This file changes security group rules in place, keeping their IDs:
// their descriptions (UpdateSecurityGroupRuleDescriptionsIngress and
// Egress) and the whole rule (ModifySecurityGroupRules).

func init() {
	for name, spec := range map[string]actionSpec{
		"UpdateSecurityGroupRuleDescriptionsIngress": {run: (*Account).updateRuleDescriptionsIngress, resources: one(paramARN("security-group", "GroupId"))},
		"UpdateSecurityGroupRuleDescriptionsEgress":  {run: (*Account).updateRuleDescriptionsEgress, resources: one(paramARN("security-group", "GroupId"))},
		"ModifySecurityGroupRules":                   {run: (*Account).modifySecurityGroupRules, resources: one(paramARN("security-group", "GroupId"))},
	} {
		if _, dup := actions[name]; dup {
			panic("ec2: action " + name + " registered twice")
		}
		actions[name] = spec
	}
}

func (s *Account) updateRuleDescriptionsIngress(r *request) (any, error) {
	return s.updateRuleDescriptions(r, false)
}

func (s *Account) updateRuleDescriptionsEgress(r *request) (any, error) {
	return s.updateRuleDescriptions(r, true)
}

// updateRuleDescriptions sets the descriptions of existing rules, named
// by their permissions (IpPermissions, each peer's Description; "If a
// description is not specified, it is removed") or by rule ID
// (SecurityGroupRuleDescription.N), API reference,
// UpdateSecurityGroupRuleDescriptionsIngress: "You can replace an existing
// description, or add a description to a rule that did not have one
// previously". A rule the group does not have is InvalidPermission.NotFound
// and nothing changes.
func (s *Account) updateRuleDescriptions(r *request, egress bool) (any, error) {
	err := s.mutateIn(r, func(st *state) error {
		// GroupName is "[Default VPC] The name of the security group"
		// (API reference), as lookupGroup resolves it.
		g, err := st.lookupGroup(r)
		if err != nil {
			return err
		}
		list := g.ingress
		if egress {
			list = g.egress
		}
		type change struct {
			rl   *sgRule
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
			return missingParam("ipPermissions or securityGroupRuleDescriptions")
		}
		for _, c := range changes {
			c.rl.desc = c.desc
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

// modifySecurityGroupRules replaces rules of a group, each named by its ID
// (SecurityGroupRule.N.SecurityGroupRuleId) with a new protocol, ports,
// peer (CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId) and
// description (API reference, ModifySecurityGroupRules and
// SecurityGroupRuleRequest); the rule keeps its ID and direction. An
// unknown group is InvalidGroup.NotFound, an unknown rule
// InvalidSecurityGroupRuleId.NotFound, a rule equal to another of the
// group InvalidPermission.Duplicate. The checks of each rule answer as
// EC2 does in moto's aws_verified test_modify_security_group_rules: no
// protocol is "Invalid value 'null' for protocol. VPC security group rules
// must specify protocols explicitly.", a TCP/UDP rule without both ports
// "Invalid value for portRange. Must specify both from and to ports with
// TCP/UDP.", no peer MissingParameter "The request must contain exactly
// one of: cidrIp, cidrIpv6, prefixListId, or referencedGroupId", two
// peers InvalidParameterCombination "Only one of cidrIp, cidrIpv6,
// prefixListId, or referencedGroupId can be specified".
func (s *Account) modifySecurityGroupRules(r *request) (any, error) {
	if _, err := r.required("GroupId", "groupId"); err != nil {
		return nil, err
	}
	err := s.mutateIn(r, func(st *state) error {
		g, err := st.lookupGroup(r)
		if err != nil {
			return err
		}
		type change struct {
			rl  *sgRule
			new sgRule
		}
		var changes []change
		for i := 1; r.form.Has("SecurityGroupRule." + strconv.Itoa(i) + ".SecurityGroupRuleId"); i++ {
			p := "SecurityGroupRule." + strconv.Itoa(i) + "."
			id := r.get(p + "SecurityGroupRuleId")
			owner, rl, egress := st.rule(id)
			if rl == nil || owner != g {
				return errorf(http.StatusBadRequest, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
			}
			q := p + "SecurityGroupRule."
			ps, fromS, toS := r.get(q+"IpProtocol"), r.get(q+"FromPort"), r.get(q+"ToPort")
			if ps == "" {
				return invalidParam("Invalid value 'null' for protocol. VPC security group rules must specify protocols explicitly.")
			}
			if l := strings.ToLower(ps); (l == "tcp" || l == "udp" || l == "6" || l == "17") && (fromS == "" || toS == "") {
				return invalidParam("Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
			}
			proto, from, to, err := parseProtoPorts(ps, fromS, toS)
			if err != nil {
				return err
			}
			given := 0
			for _, k := range []string{"CidrIpv4", "CidrIpv6", "PrefixListId", "ReferencedGroupId"} {
				if r.get(q+k) != "" {
					given++
				}
			}
			switch {
			case given == 0:
				return missingParamMsg("The request must contain exactly one of: cidrIp, cidrIpv6, prefixListId, or referencedGroupId")
			case given > 1:
				return errorf(http.StatusBadRequest, "InvalidParameterCombination", "Only one of cidrIp, cidrIpv6, prefixListId, or referencedGroupId can be specified")
			}
			n := sgRule{id: rl.id, proto: proto, from: from, to: to, desc: r.get(q + "Description"), tags: rl.tags}
			if c := r.get(q + "CidrIpv4"); c != "" {
				if n.cidr, err = parseRuleCIDR(c, false); err != nil {
					return err
				}
			}
			if c := r.get(q + "CidrIpv6"); c != "" {
				if n.cidr6, err = parseRuleCIDR(c, true); err != nil {
					return err
				}
			}
			if pl := r.get(q + "PrefixListId"); pl != "" {
				if st.prefixList(pl) == nil {
					return plNotFound(pl)
				}
				n.prefixList = pl
			}
			if ref := r.get(q + "ReferencedGroupId"); ref != "" {
				if st.secGroup(ref) == nil {
					return errorf(http.StatusBadRequest, "InvalidGroup.NotFound", "The security group '%s' does not exist", ref)
				}
				n.group = ref
			}
			list := g.ingress
			if egress {
				list = g.egress
			}
			if slices.ContainsFunc(list, func(o *sgRule) bool { return o != rl && o.samePeer(&n) }) {
				return errorf(http.StatusBadRequest, "InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", n.describe())
			}
			changes = append(changes, change{rl, n})
		}
		if len(changes) == 0 {
			return missingParam("securityGroupRule")
		}
		for _, c := range changes {
			*c.rl = c.new
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}
