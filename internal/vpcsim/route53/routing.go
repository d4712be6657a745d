package route53

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Routing policies and alias records (API reference ResourceRecordSet).
// A record set with a policy other than simple has a SetIdentifier and
// exactly one of Weight, Region (latency), GeoLocation, Failover or
// MultiValueAnswer; the sets that share a name and type all have the same
// policy and different identifiers, and none of them is a simple set. An
// alias set has an AliasTarget instead of TTL and ResourceRecords.
//
// The DNS server answers a query from the sets of the name and type as
// the policy picks: by weight (a weight of 0 only when all are 0), the
// PRIMARY failover set (vpcsim does not probe health checks, so a
// primary is healthy), the default location ("*") of a geolocation
// policy, every set's values (up to eight) for multivalue answers, and
// for latency the first set by identifier (the simulated resolver has no
// latency to the regions). An alias to a record of one of the account's
// zones answers with that record's values and TTL; an alias to anything
// else (a load balancer, a distribution) has no answer, as the simulator
// never leaves its zones.

// routing is a record set's routing policy.
type routing struct {
	id         string // SetIdentifier
	weight     *int64
	region     string
	geo        *wireGeo
	failover   string
	multiValue *bool
}

// policy names the routing policy: "" for simple.
func (r routing) policy() string {
	switch {
	case r.weight != nil:
		return "weighted"
	case r.region != "":
		return "latency"
	case r.geo != nil:
		return "geolocation"
	case r.failover != "":
		return "failover"
	case r.multiValue != nil:
		return "multivalue"
	}
	return ""
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseRouting reads and checks a change's routing members: a
// SetIdentifier (1 to 128 characters) goes with exactly one policy and a
// policy with a SetIdentifier ("SetIdentifier: Resource record sets that
// have a routing policy other than simple: An identifier that
// differentiates among multiple resource record sets that have the same
// combination of name and type"); Weight is 0 to 255; Failover PRIMARY or
// SECONDARY; a GeoLocation names a continent or a country, a subdivision
// only of a country.
func parseRouting(action string, rs wireRRSet) (routing, error) {
	r := routing{id: rs.SetIdentifier, weight: rs.Weight, region: rs.Region, geo: rs.GeoLocation, failover: rs.Failover, multiValue: rs.MultiValue}
	where := fmt.Sprintf("Change with [Action=%s, Name=%s, Type=%s, SetIdentifier=%s]", action, rs.Name, rs.Type, cmpOr(rs.SetIdentifier, "null"))
	n := 0
	for _, set := range []bool{r.weight != nil, r.region != "", r.geo != nil, r.failover != "", r.multiValue != nil} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return r, invalidInput("Invalid request: Expected at most one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found more than one in %s", where)
	case n == 1 && r.id == "":
		return r, invalidInput("Invalid request: Missing field 'SetIdentifier' in %s", where)
	case n == 0 && r.id != "":
		return r, invalidInput("Invalid request: Expected exactly one of [Weight, Region, Failover, GeoLocation, MultiValueAnswer, GeoProximityLocation, or CidrRoutingConfig], but found none in %s", where)
	}
	if len(r.id) > 128 {
		return r, constraint(r.id, "changeBatch.changes.member.resourceRecordSet.setIdentifier", "have length less than or equal to 128")
	}
	if r.weight != nil && (*r.weight < 0 || *r.weight > 255) {
		return r, constraint(fmt.Sprint(*r.weight), "changeBatch.changes.member.resourceRecordSet.weight", "have value between 0 and 255")
	}
	if r.failover != "" && r.failover != "PRIMARY" && r.failover != "SECONDARY" {
		return r, enumError(r.failover, "PRIMARY, SECONDARY")
	}
	if g := r.geo; g != nil {
		switch {
		case g.ContinentCode == "" && g.CountryCode == "":
			return r, invalidInput("Invalid request: a GeoLocation needs a ContinentCode or a CountryCode in %s", where)
		case g.ContinentCode != "" && g.CountryCode != "":
			return r, invalidInput("Invalid request: a GeoLocation has either a ContinentCode or a CountryCode in %s", where)
		case g.SubdivisionCode != "" && g.CountryCode == "":
			return r, invalidInput("Invalid request: a GeoLocation SubdivisionCode needs a CountryCode in %s", where)
		}
	}
	return r, nil
}

// wireRouting adds a set's routing members and alias to its wire form.
func (r *rrset) wireRouting(w *wireRRSet) {
	w.SetIdentifier, w.Weight, w.Region, w.GeoLocation, w.Failover, w.MultiValue =
		r.routing.id, r.routing.weight, r.routing.region, r.routing.geo, r.routing.failover, r.routing.multiValue
	if r.alias != nil {
		a := *r.alias
		w.AliasTarget, w.TTL, w.ResourceRecords = &a, nil, nil
	}
}

// sameRouting reports whether a DELETE names the set as it is: the same
// routing members and alias target.
func sameRouting(cur, set *rrset) bool {
	return reflect.DeepEqual(cur.routing, set.routing) && reflect.DeepEqual(cur.alias, set.alias)
}

// routingConflict checks a set against the others of its name and type:
// a simple set stands alone, routed sets share one policy, and a failover
// pair has one PRIMARY and one SECONDARY.
func routingConflict(m map[rrKey]*rrset, set *rrset) string {
	for k, o := range m {
		if k.name != set.name || k.typ != set.typ || k.id == set.routing.id {
			continue
		}
		if k.id == "" || set.routing.id == "" {
			return fmt.Sprintf("RRSet with DNS name %s, type %s cannot be created because other RRSets exist with the same name and type.", set.name, set.typ)
		}
		if o.routing.policy() != set.routing.policy() {
			return fmt.Sprintf("RRSet with DNS name %s, type %s, and SetIdentifier %s cannot be created because a %s RRSet exists with the same name and type.", set.name, set.typ, set.routing.id, o.routing.policy())
		}
		if set.routing.failover != "" && o.routing.failover == set.routing.failover {
			return fmt.Sprintf("RRSet with DNS name %s, type %s, and SetIdentifier %s cannot be created because another %s failover RRSet exists with the same name and type.", set.name, set.typ, set.routing.id, set.routing.failover)
		}
	}
	return ""
}

// aliasTargetsLocked checks the alias targets of a batch that lie in the
// account's zones: the target name must lie within the target zone and
// a set of that name and type must exist there (or be made by the same
// batch), as Route 53 answers "Tried to create an alias that targets ...,
// but that target was not found".
func (s *Service) aliasTargetsLocked(z *zone, ops []op) error {
	var msgs []string
	for _, o := range ops {
		a := o.set.alias
		if a == nil || o.action == "DELETE" {
			continue
		}
		tz := s.byID[a.HostedZoneID]
		if tz == nil {
			continue // a load balancer's, a distribution's: not the account's
		}
		if a.DNSName != tz.name && !strings.HasSuffix(a.DNSName, "."+tz.name) {
			msgs = append(msgs, fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s, but the alias target name does not lie within the target zone", a.DNSName, o.set.typ, tz.id))
			continue
		}
		found := false
		for k := range tz.records {
			found = found || k.name == a.DNSName && k.typ == o.set.typ
		}
		for _, p := range ops {
			found = found || tz == z && p.action != "DELETE" && p.set.name == a.DNSName && p.set.typ == o.set.typ
		}
		if !found {
			msgs = append(msgs, fmt.Sprintf("Tried to create an alias that targets %s, type %s in zone %s, but that target was not found", a.DNSName, o.set.typ, tz.id))
		}
	}
	if len(msgs) > 0 {
		return errorf(http.StatusBadRequest, "InvalidChangeBatch", "[%s]", strings.Join(msgs, ", "))
	}
	return nil
}

// answerLocked is the set the DNS server answers for name and type in
// zone z, chosen by the sets' routing policy, with aliases followed; nil
// when there is none.
func (s *Service) answerLocked(z *zone, name, typ string, depth int) *rrset {
	var sets []*rrset
	for k, r := range z.served {
		if k.name == name && k.typ == typ {
			sets = append(sets, r)
		}
	}
	if len(sets) == 0 {
		return nil
	}
	slices.SortFunc(sets, func(a, b *rrset) int { return strings.Compare(a.routing.id, b.routing.id) })
	set := sets[0]
	switch sets[0].routing.policy() {
	case "weighted":
		var total int64
		for _, r := range sets {
			total += *r.routing.weight
		}
		if total == 0 {
			set = sets[rand.IntN(len(sets))]
			break
		}
		n := rand.Int64N(total)
		for _, r := range sets {
			if n < *r.routing.weight {
				set = r
				break
			}
			n -= *r.routing.weight
		}
	case "failover":
		for _, r := range sets {
			if r.routing.failover == "PRIMARY" {
				set = r
			}
		}
	case "geolocation":
		for _, r := range sets {
			if r.routing.geo.CountryCode == "*" {
				set = r
			}
		}
	case "multivalue":
		merged := &rrset{name: name, typ: typ, ttl: sets[0].ttl}
		for _, r := range sets {
			if r.alias == nil && len(merged.values) < 8 {
				merged.values = append(merged.values, r.values...)
			}
		}
		merged.values = merged.values[:min(len(merged.values), 8)]
		return merged
	}
	if set.alias == nil {
		return set
	}
	tz := s.byID[set.alias.HostedZoneID]
	if tz == nil || depth >= maxCNAMEChain {
		return nil
	}
	target := s.answerLocked(tz, set.alias.DNSName, typ, depth+1)
	if target == nil {
		return nil
	}
	return &rrset{name: name, typ: typ, ttl: target.ttl, values: target.values}
}
