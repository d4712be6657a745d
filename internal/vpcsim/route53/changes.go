package route53

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// changeResourceRecordSets validates a batch as a whole and applies it all
// or nothing. Problems with the request's shape are InvalidInput; problems
// of the batch against the zone are collected and returned together as one
// InvalidChangeBatch, as Route 53 does.
func (s *Service) changeResourceRecordSets(id string, req *changeResourceRecordSetsRequest) (any, error) {
	changes := req.ChangeBatch.Changes
	if len(changes) == 0 {
		return nil, invalidInput("1 validation error detected: Value '[]' at 'changeBatch.changes' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	ops := make([]op, 0, len(changes))
	for i, c := range changes {
		o, err := parseChange(i+1, c)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o)
	}
	if n := recordCount(ops); n > maxBatchRecords {
		return nil, errorf(http.StatusBadRequest, "InvalidChangeBatch", "Number of records limit of %d exceeded.", maxBatchRecords)
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	z, err := s.zoneLocked(id)
	if err != nil {
		return nil, err
	}
	s.advanceLocked(now)
	// A HealthCheckId must name a health check (API reference
	// ChangeResourceRecordSets, errors: NoSuchHealthCheck "No health check
	// exists with the specified ID").
	for _, o := range ops {
		if id := o.set.healthCheck; id != "" && o.action != "DELETE" && s.checks[id] == nil {
			return nil, noSuchHealthCheck(id)
		}
	}
	// Only record changes count: AWS accepts record changes while the
	// zone's own creation is still PENDING.
	if s.opts.RejectWhilePending && slices.ContainsFunc(z.pending, func(c *change) bool { return len(c.ops) > 0 }) {
		return nil, errorf(http.StatusBadRequest, "PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request.")
	}
	if msgs := z.check(ops); len(msgs) > 0 {
		return nil, errorf(http.StatusBadRequest, "InvalidChangeBatch", "[%s]", strings.Join(msgs, ", "))
	}
	if err := s.aliasTargetsLocked(z, ops); err != nil {
		return nil, err
	}
	applyOps(z.records, ops)
	c := s.submitLocked(z, req.ChangeBatch.Comment, ops, now)
	return &changeResourceRecordSetsResponse{Xmlns: xmlns, ChangeInfo: c.wire()}, nil
}

// maxBatchRecords is Route 53's limit on ResourceRecord elements in one
// ChangeResourceRecordSets request; each UPSERT's records count twice
// (API reference ChangeResourceRecordSets, "Limits").
const maxBatchRecords = 1000

func recordCount(ops []op) int {
	n := 0
	for _, o := range ops {
		k := len(o.set.values)
		if o.action == "UPSERT" {
			k *= 2
		}
		n += k
	}
	return n
}

// enumError is how Route 53 answers a value outside an enumeration of its
// XML schema: the request fails schema validation before it is read.
func enumError(v, values string) error {
	return invalidInput("Invalid XML ; cvc-enumeration-valid: Value '%s' is not facet-valid with respect to enumeration '[%s]'. It must be a value from the enumeration.", v, values)
}

// unsupportedChar is Route 53's answer to a name with a character it
// does not accept unescaped (whitespace and control characters); a
// backslash escapes the character after it ("\\ " is a space).
func unsupportedChar(name string) (string, bool) {
	escaped := false
	for _, r := range name {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r <= ' ' || r == 0x7f:
			return fmt.Sprintf("FATAL problem: UnsupportedCharacter (Value contains unsupported characters) encountered with '%c'", r), true
		}
	}
	return "", false
}

// parseChange checks one change on its own: action, type, the TTL and
// records every non-alias set needs, and the record values.
func parseChange(n int, c wireChange) (op, error) {
	rs := c.ResourceRecordSet
	switch c.Action {
	case "CREATE", "UPSERT", "DELETE":
	default:
		return op{}, enumError(c.Action, "CREATE, DELETE, UPSERT")
	}
	if !validTypes[rs.Type] {
		return op{}, enumError(rs.Type, "SOA, A, TXT, NS, CNAME, MX, NAPTR, PTR, SRV, SPF, AAAA, CAA, DS, TLSA, SSHFP, SVCB, HTTPS")
	}
	if rs.TrafficPolicy != "" || rs.GeoProximity != nil || rs.CidrRouting != nil {
		return op{}, invalidInput("Invalid request: vpcsim does not model traffic policies, geoproximity or CIDR routing")
	}
	if msg, bad := unsupportedChar(rs.Name); bad {
		return op{}, errorf(http.StatusBadRequest, "InvalidChangeBatch", "[%s]", msg)
	}
	if _, ok := dns.IsDomainName(rs.Name); !ok || rs.Name == "" {
		return op{}, invalidInput("Invalid request: %s is not a valid DNS name", rs.Name)
	}
	name := canonicalName(rs.Name)
	rt, err := parseRouting(c.Action, rs)
	if err != nil {
		return op{}, err
	}
	// The name is echoed as the request spelled it.
	where := fmt.Sprintf("Change with [Action=%s, Name=%s, Type=%s, SetIdentifier=%s]", c.Action, rs.Name, rs.Type, cmpOr(rs.SetIdentifier, "null"))
	if rs.AliasTarget != nil {
		// "If you're creating or updating an alias resource record set,
		// omit TTL" and ResourceRecords (API reference ResourceRecordSet).
		if rs.TTL != nil || rs.ResourceRecords != nil {
			return op{}, invalidInput("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found more than one in %s", where)
		}
		a := *rs.AliasTarget
		if a.HostedZoneID == "" || a.DNSName == "" {
			return op{}, invalidInput("Invalid request: an AliasTarget needs a HostedZoneId and a DNSName in %s", where)
		}
		if _, ok := dns.IsDomainName(a.DNSName); !ok {
			return op{}, invalidInput("Invalid request: %s is not a valid DNS name", a.DNSName)
		}
		a.HostedZoneID, a.DNSName = zoneID(strings.TrimPrefix(a.HostedZoneID, "/")), canonicalName(a.DNSName)
		return op{action: c.Action, set: &rrset{name: name, typ: rs.Type, healthCheck: rs.HealthCheckID, routing: rt, alias: &a}}, nil
	}
	if rs.TTL == nil || rs.ResourceRecords == nil {
		return op{}, invalidInput("Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in %s", where)
	}
	if len(rs.ResourceRecords.Records) == 0 {
		return op{}, invalidInput("1 validation error detected: Value '[]' at 'changeBatch.changes.%d.member.resourceRecordSet.resourceRecords' failed to satisfy constraint: Member must have length greater than or equal to 1", n)
	}
	if *rs.TTL < 0 || *rs.TTL > 2147483647 {
		return op{}, invalidInput("1 validation error detected: Value '%d' at 'changeBatch.changes.%d.member.resourceRecordSet.tTL' failed to satisfy constraint: Member must have value between 0 and 2147483647", *rs.TTL, n)
	}
	set := &rrset{name: name, typ: rs.Type, ttl: *rs.TTL, healthCheck: rs.HealthCheckID, routing: rt}
	for _, r := range rs.ResourceRecords.Records {
		set.values = append(set.values, r.Value)
	}
	return op{action: c.Action, set: set}, nil
}

// valueProblems returns AWS's messages for record values it would reject.
func valueProblems(set *rrset) []string {
	var msgs []string
	bad := func(code, why, v string) {
		msgs = append(msgs, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: %s (%s) encountered with '%s''", code, why, v))
	}
	seen := map[string]bool{}
	for _, v := range set.values {
		if seen[v] {
			msgs = append(msgs, fmt.Sprintf("Duplicate Resource Record: '%s'", v))
		}
		seen[v] = true
		switch set.typ {
		case "A":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
				bad("ARRDATAIllegalIPv4Address", "Value is not a valid IPv4 address", v)
			}
			continue
		case "AAAA":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is6() || a.Is4In6() {
				bad("AAAARRDATAIllegalIPv6Address", "Value is not a valid IPv6 address", v)
			}
			continue
		case "TXT", "SPF":
			if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
				bad("InvalidCharacterString", "Value should be enclosed in quotation marks", v)
				continue
			}
		case "CNAME":
			if _, ok := dns.IsDomainName(v); !ok || v == "" {
				bad("DomainLabelEmpty", "Domain label is empty", v)
				continue
			}
		}
		// Every other type, and the remaining syntax of the above, is
		// checked by parsing the record as a zone-file line.
		if _, err := dns.NewRR(fmt.Sprintf("%s %d IN %s %s", set.name, set.ttl, set.typ, v)); err != nil {
			bad("InvalidRDATA", err.Error(), v)
		}
	}
	if set.typ == "CNAME" && len(set.values) > 1 {
		msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted because it contains more than one value", set.name))
	}
	return msgs
}

// check runs the batch against a copy of the zone in order and returns
// every problem; a batch may, for instance, DELETE a set and CREATE it
// again.
func (z *zone) check(ops []op) []string {
	var msgs []string
	m := maps.Clone(z.records)
	for _, o := range ops {
		set := o.set
		k := set.key()
		desc := fmt.Sprintf("[name='%s', type='%s']", set.name, set.typ)
		if set.name != z.name && !strings.HasSuffix(set.name, "."+z.name) {
			msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", set.name, z.name))
			continue
		}
		if o.action != "DELETE" {
			if p := valueProblems(set); len(p) > 0 {
				msgs = append(msgs, p...)
				continue
			}
		}
		cur, exists := m[k]
		switch o.action {
		case "CREATE":
			if exists {
				msgs = append(msgs, "Tried to create resource record set "+desc+" but it already exists")
				continue
			}
		case "DELETE":
			if !exists {
				msgs = append(msgs, "Tried to delete resource record set "+desc+" but it was not found")
				continue
			}
			if cur.ttl != set.ttl || !sameValues(cur.values, set.values) || !sameRouting(cur, set) {
				msgs = append(msgs, "Tried to delete resource record set "+desc+" but the values provided do not match the current values")
				continue
			}
			if set.name == z.name && set.typ == "SOA" {
				msgs = append(msgs, "A HostedZone must contain exactly one SOA record.")
				continue
			}
			if set.name == z.name && set.typ == "NS" {
				msgs = append(msgs, "A HostedZone must contain at least one NS record for the zone itself.")
				continue
			}
			delete(m, k)
			continue
		}
		if set.typ == "CNAME" && set.name == z.name {
			msgs = append(msgs, fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted at apex in zone %s", set.name, z.name))
			continue
		}
		if conflict := routingConflict(m, set); conflict != "" {
			msgs = append(msgs, conflict)
			continue
		}
		if conflict := cnameConflict(m, set); conflict != "" {
			msgs = append(msgs, conflict+" in zone "+z.name)
			continue
		}
		m[k] = set
	}
	return msgs
}

// cnameConflict enforces that a name with a CNAME has no other records.
func cnameConflict(m map[rrKey]*rrset, set *rrset) string {
	for k := range m {
		if k.name != set.name || k.typ == set.typ {
			continue
		}
		if set.typ == "CNAME" {
			return fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name", set.name)
		}
		if k.typ == "CNAME" {
			return fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists", set.typ, set.name)
		}
	}
	return ""
}

func sameValues(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
