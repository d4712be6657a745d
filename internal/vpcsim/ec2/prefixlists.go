package ec2

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// prefixList is a managed prefix list (VPC user guide, "Managed prefix
// lists"): a customer-managed one (CreateManagedPrefixList) with up to
// MaxEntries CIDR blocks of one address family and a version that each
// change increments, or an AWS-managed one, owned by "AWS", which cannot
// be created, modified or deleted: vpcsim has those of the services with
// gateway endpoints, com.amazonaws.REGION.s3 and .dynamodb, with blocks
// from TEST-NET-1 (RFC 5737) as its Elastic IPs use the other
// documentation ranges.
type prefixList struct {
	id, name, family string
	awsManaged       bool
	max              int
	version          int
	entries          []plEntry
	state            string
	tags             map[string]string
}

type plEntry struct {
	cidr netip.Prefix
	desc string
}

func (p *prefixList) tagging() (map[string]string, string) { return p.tags, "prefix-list" }

// gatewayServices are the services with gateway endpoints: "Amazon S3 and
// DynamoDB" (AWS PrivateLink guide, "Gateway endpoints"), each with its
// AWS-managed prefix list's blocks.
var gatewayServices = []struct{ service, cidr string }{{"s3", "192.0.2.0/25"}, {"dynamodb", "192.0.2.128/25"}}

// awsPrefixLists are the region's AWS-managed lists, made on first use.
func (st *state) awsPrefixLists() []*prefixList {
	var out []*prefixList
	for _, g := range gatewayServices {
		name := "com.amazonaws." + st.region + "." + g.service
		id := fmt.Sprintf("pl-%08x", uint32(fnv64(name)))
		p, _ := st.byID[id].(*prefixList)
		if p == nil {
			p = &prefixList{id: id, name: name, family: "IPv4", awsManaged: true, version: 1, state: "create-complete",
				entries: []plEntry{{cidr: netip.MustParsePrefix(g.cidr)}}, tags: map[string]string{}}
			st.add(id, p)
		}
		out = append(out, p)
	}
	return out
}

// prefixList finds a list of either kind.
func (st *state) prefixList(id string) *prefixList {
	st.awsPrefixLists()
	p, _ := st.byID[id].(*prefixList)
	return p
}

// prefixListFamily is a list's address family, "" when there is none.
func (st *state) prefixListFamily(id string) string {
	if p := st.prefixList(id); p != nil {
		return p.family
	}
	return ""
}

func plNotFound(id string) error {
	return notFound("InvalidPrefixListID.NotFound", "prefix list", id)
}

type xPrefixListOld struct {
	ID    string            `xml:"prefixListId"`
	Name  string            `xml:"prefixListName"`
	Cidrs set[stringMember] `xml:"cidrSet"`
}

type stringMember struct {
	V string `xml:",chardata"`
}

type describePrefixListsResp struct {
	ec2Resp
	PrefixLists set[xPrefixListOld] `xml:"prefixListSet"`
	NextToken   string              `xml:"nextToken,omitempty"`
}

// describePrefixLists lists the AWS-managed lists of the gateway endpoint
// services ("Describes available Amazon Web Services services in a prefix
// list format", API reference, DescribePrefixLists).
func (s *Account) describePrefixLists(r *request) (any, error) {
	ids := r.list("PrefixListId")
	fs, err := r.filters("prefix-list-id", "prefix-list-name")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	lists := st.awsPrefixLists()
	for _, id := range ids {
		if !slices.ContainsFunc(lists, func(p *prefixList) bool { return p.id == id }) {
			return nil, plNotFound(id)
		}
	}
	out := &describePrefixListsResp{PrefixLists: set[xPrefixListOld]{Items: []xPrefixListOld{}}}
	for _, p := range lists {
		if !named(ids, p.id) || !match(fs, nil, func(name string) []string { return p.attr(name) }) {
			continue
		}
		x := xPrefixListOld{ID: p.id, Name: p.name, Cidrs: set[stringMember]{Items: []stringMember{}}}
		for _, e := range p.entries {
			x.Cidrs.Items = append(x.Cidrs.Items, stringMember{e.cidr.String()})
		}
		out.PrefixLists.Items = append(out.PrefixLists.Items, x)
	}
	var perr error
	if out.PrefixLists.Items, out.NextToken, perr = paginate(r, out.PrefixLists.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

func (p *prefixList) attr(name string) []string {
	switch name {
	case "prefix-list-id":
		return []string{p.id}
	case "prefix-list-name":
		return []string{p.name}
	}
	return nil
}

type xManagedPrefixList struct {
	ID            string    `xml:"prefixListId"`
	AddressFamily string    `xml:"addressFamily"`
	State         string    `xml:"state"`
	ARN           string    `xml:"prefixListArn"`
	Name          string    `xml:"prefixListName"`
	MaxEntries    int       `xml:"maxEntries,omitempty"`
	Version       int       `xml:"version"`
	Tags          set[xTag] `xml:"tagSet"`
	OwnerID       string    `xml:"ownerId"`
}

func (st *state) xManagedPrefixList(p *prefixList) xManagedPrefixList {
	x := xManagedPrefixList{ID: p.id, AddressFamily: p.family, State: p.state, Name: p.name, MaxEntries: p.max,
		Version: p.version, Tags: tagSet(p.tags), OwnerID: st.account,
		ARN: fmt.Sprintf("arn:aws:ec2:%s:%s:prefix-list/%s", st.region, st.account, p.id)}
	if p.awsManaged {
		x.OwnerID = "AWS"
		x.ARN = fmt.Sprintf("arn:aws:ec2:%s:aws:prefix-list/%s", st.region, p.id)
	}
	return x
}

type describeManagedPrefixListsResp struct {
	ec2Resp
	PrefixLists set[xManagedPrefixList] `xml:"prefixListSet"`
	NextToken   string                  `xml:"nextToken,omitempty"`
}

func (s *Account) describeManagedPrefixLists(r *request) (any, error) {
	ids := r.list("PrefixListId")
	fs, err := r.filters("owner-id", "prefix-list-id", "prefix-list-name")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	lists := append(st.awsPrefixLists(), st.net.lists...)
	for _, id := range ids {
		if st.prefixList(id) == nil {
			return nil, plNotFound(id)
		}
	}
	out := &describeManagedPrefixListsResp{PrefixLists: set[xManagedPrefixList]{Items: []xManagedPrefixList{}}}
	for _, p := range lists {
		x := st.xManagedPrefixList(p)
		ok := named(ids, p.id) && match(fs, p.tags, func(name string) []string {
			if name == "owner-id" {
				return []string{x.OwnerID}
			}
			return p.attr(name)
		})
		if ok {
			out.PrefixLists.Items = append(out.PrefixLists.Items, x)
		}
	}
	var perr error
	if out.PrefixLists.Items, out.NextToken, perr = paginate(r, out.PrefixLists.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

type xPLEntry struct {
	Cidr        string `xml:"cidr"`
	Description string `xml:"description,omitempty"`
}

type getPLEntriesResp struct {
	ec2Resp
	Entries   set[xPLEntry] `xml:"entrySet"`
	NextToken string        `xml:"nextToken,omitempty"`
}

func (s *Account) getManagedPrefixListEntries(r *request) (any, error) {
	id, err := r.required("PrefixListId", "prefixListId")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	p := st.prefixList(id)
	if p == nil {
		return nil, plNotFound(id)
	}
	if v := r.get("TargetVersion"); v != "" && v != strconv.Itoa(p.version) {
		return nil, invalidParam("vpcsim models the current version of a prefix list only (TargetVersion %s, current %d)", v, p.version)
	}
	out := &getPLEntriesResp{Entries: set[xPLEntry]{Items: []xPLEntry{}}}
	for _, e := range p.entries {
		out.Entries.Items = append(out.Entries.Items, xPLEntry{e.cidr.String(), e.desc})
	}
	var perr error
	if out.Entries.Items, out.NextToken, perr = paginate(r, out.Entries.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

// plEntries reads prefix.N.Cidr and .Description as blocks of family.
func plEntries(r *request, prefix, family string) ([]plEntry, error) {
	var out []plEntry
	for i := 1; r.form.Has(prefix + "." + strconv.Itoa(i) + ".Cidr"); i++ {
		k := prefix + "." + strconv.Itoa(i)
		v := r.get(k + ".Cidr")
		c, err := netip.ParsePrefix(v)
		if err != nil || c != c.Masked() || c.Addr().Is4() != (family == "IPv4") {
			return nil, invalidParam("Value (%s) for parameter cidr is invalid. This is not a valid %s CIDR block.", v, family)
		}
		out = append(out, plEntry{cidr: c, desc: r.get(k + ".Description")})
	}
	return out, nil
}

type managedPrefixListResp struct {
	ec2Resp
	PrefixList xManagedPrefixList `xml:"prefixList"`
}

// createManagedPrefixList: AddressFamily is IPv4 or IPv6, MaxEntries is
// required, and the name "cannot start with com.amazonaws" (API
// reference, CreateManagedPrefixList).
func (s *Account) createManagedPrefixList(r *request) (any, error) {
	name, err := r.required("PrefixListName", "prefixListName")
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, "com.amazonaws") {
		return nil, invalidParam("Value (%s) for parameter prefixListName is invalid. The name cannot start with com.amazonaws.", name)
	}
	fam, err := r.required("AddressFamily", "addressFamily")
	if err != nil {
		return nil, err
	}
	if fam != "IPv4" && fam != "IPv6" {
		return nil, invalidParam("Value (%s) for parameter addressFamily is invalid. Valid values: IPv4, IPv6", fam)
	}
	ms, err := r.required("MaxEntries", "maxEntries")
	if err != nil {
		return nil, err
	}
	max, err := strconv.Atoi(ms)
	if err != nil || max < 1 || max > 1000 {
		return nil, invalidParam("Value (%s) for parameter maxEntries is invalid. It must be between 1 and 1000.", ms)
	}
	entries, err := plEntries(r, "Entry", fam)
	if err != nil {
		return nil, err
	}
	if len(entries) > max {
		return nil, invalidParam("The prefix list has %d entries, more than its maximum of %d", len(entries), max)
	}
	out := &managedPrefixListResp{}
	err = s.mutateIn(r, func(st *state) error {
		p := &prefixList{id: s.ids.next("pl"), name: name, family: fam, max: max, version: 1, state: "create-complete",
			entries: entries, tags: tagSpecs(r, "prefix-list")}
		st.net.lists = append(st.net.lists, p)
		st.add(p.id, p)
		out.PrefixList = st.xManagedPrefixList(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// customerList finds a list the caller may change: AWS-managed lists
// cannot be modified or deleted.
func (st *state) customerList(r *request) (*prefixList, error) {
	id, err := r.required("PrefixListId", "prefixListId")
	if err != nil {
		return nil, err
	}
	p := st.prefixList(id)
	if p == nil {
		return nil, plNotFound(id)
	}
	if p.awsManaged {
		return nil, invalidParam("The prefix list %s is AWS-managed; it cannot be modified or deleted", id)
	}
	return p, nil
}

// modifyManagedPrefixList adds and removes entries, renames the list or
// changes MaxEntries; CurrentVersion, when given, must be the list's
// ("PrefixListVersionMismatch", EC2 error codes), and each change of
// entries makes a new version.
func (s *Account) modifyManagedPrefixList(r *request) (any, error) {
	out := &managedPrefixListResp{}
	err := s.mutateIn(r, func(st *state) error {
		p, err := st.customerList(r)
		if err != nil {
			return err
		}
		if v := r.get("CurrentVersion"); v != "" && v != strconv.Itoa(p.version) {
			return errorf(http.StatusBadRequest, "PrefixListVersionMismatch", "The prefix list %s has version %d, not %s", p.id, p.version, v)
		}
		add, err := plEntries(r, "AddEntry", p.family)
		if err != nil {
			return err
		}
		var remove []netip.Prefix
		for i := 1; r.form.Has("RemoveEntry." + strconv.Itoa(i) + ".Cidr"); i++ {
			v := r.get("RemoveEntry." + strconv.Itoa(i) + ".Cidr")
			c, err := netip.ParsePrefix(v)
			if err != nil || !slices.ContainsFunc(p.entries, func(e plEntry) bool { return e.cidr == c }) {
				return invalidParam("The prefix list %s has no entry %s", p.id, v)
			}
			remove = append(remove, c)
		}
		max := p.max
		if ms := r.get("MaxEntries"); ms != "" {
			if max, err = strconv.Atoi(ms); err != nil || max < 1 || max > 1000 {
				return invalidParam("Value (%s) for parameter maxEntries is invalid. It must be between 1 and 1000.", ms)
			}
		}
		entries := slices.DeleteFunc(slices.Clone(p.entries), func(e plEntry) bool { return slices.Contains(remove, e.cidr) })
		for _, a := range add {
			i := slices.IndexFunc(entries, func(e plEntry) bool { return e.cidr == a.cidr })
			if i >= 0 {
				entries[i] = a
				continue
			}
			entries = append(entries, a)
		}
		if len(entries) > max {
			return invalidParam("The prefix list %s would have %d entries, more than its maximum of %d", p.id, len(entries), max)
		}
		if name := r.get("PrefixListName"); name != "" {
			p.name = name
		}
		if len(add) > 0 || len(remove) > 0 {
			p.version++
		}
		p.entries, p.max, p.state = entries, max, "modify-complete"
		out.PrefixList = st.xManagedPrefixList(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deleteManagedPrefixList starts deleting a list: "delete-in-progress",
// then from the next call it is gone, or "delete-failed" while a route or
// a security group rule references it (ManagedPrefixList State,
// API reference: ... delete-in-progress | delete-complete |
// delete-failed), as moto's aws_verified
// test_authorize_security_group_rules_with_different_ipranges_or_prefixes
// deletes a list its group's rules still name without an error.
func (s *Account) deleteManagedPrefixList(r *request) (any, error) {
	out := &managedPrefixListResp{}
	err := s.mutateIn(r, func(st *state) error {
		p, err := st.customerList(r)
		if err != nil {
			return err
		}
		if p.state == "delete-in-progress" {
			return invalidParam("The prefix list %s is being deleted", p.id)
		}
		p.state = "delete-in-progress"
		out.PrefixList = st.xManagedPrefixList(p)
		st.schedule(0, func(st *state) {
			if p.state != "delete-in-progress" {
				return
			}
			if st.prefixListUsed(p.id) {
				p.state = "delete-failed"
				return
			}
			st.net.lists = slices.DeleteFunc(st.net.lists, func(x *prefixList) bool { return x == p })
			delete(st.byID, p.id)
			p.state = "delete-complete"
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// prefixListUsed reports whether a route or a security group rule names
// the list.
func (st *state) prefixListUsed(id string) bool {
	return slices.ContainsFunc(st.tables, func(t *routeTable) bool {
		return slices.ContainsFunc(t.routes, func(rt *route) bool { return rt.pl == id })
	}) || slices.ContainsFunc(st.sgs, func(g *secGroup) bool {
		return slices.ContainsFunc(slices.Concat(g.ingress, g.egress), func(rl *sgRule) bool { return rl.prefixList == id })
	})
}
