package ec2

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type xStateChange struct {
	InstanceID    string         `xml:"instanceId"`
	CurrentState  xInstanceState `xml:"currentState"`
	PreviousState xInstanceState `xml:"previousState"`
}

type instancesChangeResp struct {
	ec2Resp
	Instances set[xStateChange] `xml:"instancesSet"`
}

// userShutdown is the state reason of an instance stopped or terminated by
// a call (API reference, StateReason: "Client.UserInitiatedShutdown: The
// instance was shut down using the Amazon EC2 API").
const userShutdown = "Client.UserInitiatedShutdown"

func stateOf(name string) xInstanceState { return xInstanceState{Code: stateCodes[name], Name: name} }

// lookupInstances validates InstanceId.N and returns the instances in
// request order; s.mu held.
func (st *state) lookupInstances(r *request) ([]*instance, error) {
	ids := r.list("InstanceId")
	if len(ids) == 0 && r.action == "TerminateInstances" {
		// The API reference's own example of this code: "trying to
		// terminate an instance without specifying the instance ID"
		// (Error codes, InvalidParameterCombination).
		return nil, errorf(http.StatusBadRequest, "InvalidParameterCombination", "No instances specified")
	}
	if len(ids) == 0 {
		return nil, missingParam("instanceId")
	}
	if err := malformed("InvalidInstanceID.Malformed", "i", ids...); err != nil {
		return nil, err
	}
	return lookupAll(ids, st.instance, "InvalidInstanceID.NotFound", "instance")
}

// stopInstances moves running instances to stopping, then stopped after
// Timing.InstanceStop; Force (as fence_aws uses it to fence a node) cuts
// the wait to a quarter, since the OS is not asked to shut down. Stopping
// a stopping or stopped instance is not an error, as in AWS.
func (s *Account) stopInstances(r *request) (any, error) {
	force, _, err := r.boolean("Force")
	if err != nil {
		return nil, err
	}
	return s.changeInstances(r, "pending", "stopped", func(st *state, in *instance) {
		if in.state != "running" {
			return
		}
		in.state, in.stateReason = "stopping", userShutdown
		if p := st.primaryENI(in); p != nil {
			st.refreshPublicIP(p)
		}
		d := s.opts.Timing.InstanceStop.Sample()
		if force {
			d /= 4
		}
		st.schedule(d, func(st *state) {
			if in.state == "stopping" {
				in.state = "stopped"
			}
		})
	})
}

// startInstances moves stopped instances to pending, then running after
// Timing.InstanceStart. A stopping instance cannot be started yet.
func (s *Account) startInstances(r *request) (any, error) {
	return s.changeInstances(r, "stopping", "started", func(st *state, in *instance) {
		if in.state != "stopped" {
			return
		}
		in.state, in.stateReason = "pending", ""
		if p := st.primaryENI(in); p != nil {
			st.refreshPublicIP(p)
		}
		st.schedule(s.opts.Timing.InstanceStart.Sample(), func(st *state) {
			if in.state == "pending" {
				in.state = "running"
				in.launch = time.Now().UTC().Truncate(time.Second)
			}
		})
	})
}

// changeInstances runs one of the Stop, Start and TerminateInstances calls
// on the instances it names: when one is in state blocked (unless ""),
// nothing changes and the call answers IncorrectInstanceState (it cannot
// be verb); otherwise change moves each, and the answer lists every
// instance's previous and current state, changed or not, as AWS does.
func (s *Account) changeInstances(r *request, blocked, verb string, change func(st *state, in *instance)) (any, error) {
	out := &instancesChangeResp{}
	err := s.mutateIn(r, func(st *state) error {
		ins, err := st.lookupInstances(r)
		if err != nil {
			return err
		}
		for _, in := range ins {
			// Termination and stop protection (API reference,
			// ModifyInstanceAttribute disableApiTermination, disableApiStop).
			if r.action == "TerminateInstances" && in.noTerminate {
				return errorf(http.StatusBadRequest, "OperationNotPermitted", "The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.", in.id)
			}
			if r.action == "StopInstances" && in.noStop {
				return errorf(http.StatusBadRequest, "OperationNotPermitted", "The instance '%s' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.", in.id)
			}
			if blocked != "" && in.state == blocked {
				return errorf(http.StatusBadRequest, "IncorrectInstanceState", "The instance '%s' is not in a state from which it can be %s.", in.id, verb)
			}
		}
		for _, in := range ins {
			prev := in.state
			change(st, in)
			out.Instances.Items = append(out.Instances.Items, xStateChange{InstanceID: in.id, CurrentState: stateOf(in.state), PreviousState: stateOf(prev)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// taggable returns the tags and resource type of any object by ID.
func (st *state) taggable(id string) (tags map[string]string, kind string, ok bool) {
	switch x := st.byID[id].(type) {
	case *vpc:
		return x.tags, "vpc", true
	case *subnet:
		return x.tags, "subnet", true
	case *routeTable:
		return x.tags, "route-table", true
	case *instance:
		return x.tags, "instance", true
	case *eni:
		return x.tags, "network-interface", true
	case *eip:
		return x.tags, "elastic-ip", true
	case *volume:
		return x.tags, "volume", true
	case *igw:
		return x.tags, "internet-gateway", true
	case *secGroup:
		return x.tags, "security-group", true
	case *snapshot:
		return x.tags, "snapshot", true
	case *launchTemplate:
		return x.tags, "launch-template", true
	case *keyPair:
		return x.tags, "key-pair", true
	case *image:
		if x.tags == nil {
			x.tags = map[string]string{}
		}
		return x.tags, "image", true
	case netObject:
		tags, kind := x.tagging()
		return tags, kind, true
	}
	if _, rl, _ := st.rule(id); rl != nil {
		if rl.tags == nil {
			rl.tags = map[string]string{}
		}
		return rl.tags, "security-group-rule", true
	}
	return nil, "", false
}

// notFoundByPrefix answers the NotFound error of the ID's kind.
func notFoundByPrefix(id string) *apiError {
	kinds := []struct{ prefix, code, noun string }{
		{"i-", "InvalidInstanceID.NotFound", "instance"},
		{"eni-", "InvalidNetworkInterfaceID.NotFound", "networkInterface"},
		{"rtb-", "InvalidRouteTableID.NotFound", "routeTable"},
		{"subnet-", "InvalidSubnetID.NotFound", "subnet"},
		{"vpc-", "InvalidVpcID.NotFound", "vpc"},
		{"vol-", "InvalidVolume.NotFound", "volume"},
		{"eipalloc-", "InvalidAllocationID.NotFound", "allocation"},
		{"sgr-", "InvalidSecurityGroupRuleId.NotFound", "security group rule"},
		{"sg-", "InvalidGroup.NotFound", "security group"},
		{"snap-", "InvalidSnapshot.NotFound", "snapshot"},
		{"nat-", "NatGatewayNotFound", "nat gateway"},
		{"pcx-", "InvalidVpcPeeringConnectionID.NotFound", "vpcPeeringConnection"},
		{"eigw-", "InvalidGatewayID.NotFound", "gateway"},
		{"dopt-", "InvalidDhcpOptionID.NotFound", "dhcpOption"},
		{"pl-", "InvalidPrefixListID.NotFound", "prefix list"},
		{"vpce-", "InvalidVpcEndpointId.NotFound", "vpcEndpoint"},
	}
	for _, k := range kinds {
		if strings.HasPrefix(id, k.prefix) {
			return notFound(k.code, k.noun, id)
		}
	}
	return errorf(http.StatusBadRequest, "InvalidID", "The ID '%s' is not valid", id)
}

// tagParams reads Tag.N.Key / Tag.N.Value (N from 1, as sent); ok is
// false when no tag is given.
func tagParams(r *request) (tags [][2]string, ok bool) {
	for i := 1; r.form.Has("Tag." + strconv.Itoa(i) + ".Key"); i++ {
		p := "Tag." + strconv.Itoa(i)
		tags = append(tags, [2]string{r.get(p + ".Key"), r.get(p + ".Value")})
	}
	return tags, len(tags) > 0
}

// hasTagValue reports whether Tag.N.Value was sent for the N-th tag.
func hasTagValue(r *request, n int) bool { return r.form.Has("Tag." + strconv.Itoa(n+1) + ".Value") }

// maxTags is how many tags one resource holds: "Maximum number of tags per
// resource – 50" (EC2 user guide, "Tag restrictions"); a CreateTags call
// that would pass it changes nothing and answers TagLimitExceeded (API
// reference, error codes).
const maxTags = 50

// tagCountAfter is how many tags m would hold with tags set.
func tagCountAfter(m map[string]string, tags [][2]string) int {
	n := len(m)
	seen := map[string]bool{}
	for _, kv := range tags {
		if _, ok := m[kv[0]]; !ok && !seen[kv[0]] {
			n++
		}
		seen[kv[0]] = true
	}
	return n
}

func (s *Account) createTags(r *request) (any, error) {
	ids := r.list("ResourceId")
	if len(ids) == 0 {
		return nil, missingParam("resourceIdSet")
	}
	tags, ok := tagParams(r)
	if !ok {
		return nil, missingParam("tagSet")
	}
	for _, kv := range tags {
		if kv[0] == "" || strings.HasPrefix(strings.ToLower(kv[0]), "aws:") {
			return nil, invalidParam("Tag keys must not be empty and must not start with aws:")
		}
	}
	err := s.mutateIn(r, func(st *state) error {
		for _, id := range ids {
			m, _, ok := st.taggable(id)
			if !ok {
				return notFoundByPrefix(id)
			}
			if n := tagCountAfter(m, tags); n > maxTags {
				return errorf(http.StatusBadRequest, "TagLimitExceeded",
					"The maximum number of Tags for a resource has been reached (%d); %s would have %d.", maxTags, id, n)
			}
		}
		for _, id := range ids {
			m, _, _ := st.taggable(id)
			for _, kv := range tags {
				m[kv[0]] = kv[1]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

func (s *Account) deleteTags(r *request) (any, error) {
	ids := r.list("ResourceId")
	if len(ids) == 0 {
		return nil, missingParam("resourceIdSet")
	}
	tags, some := tagParams(r)
	err := s.mutateIn(r, func(st *state) error {
		for _, id := range ids {
			m, _, ok := st.taggable(id)
			if !ok {
				return notFoundByPrefix(id)
			}
			if n := tagCountAfter(m, tags); n > maxTags {
				return errorf(http.StatusBadRequest, "TagLimitExceeded",
					"The maximum number of Tags for a resource has been reached (%d); %s would have %d.", maxTags, id, n)
			}
		}
		for _, id := range ids {
			m, _, _ := st.taggable(id)
			if !some {
				clear(m) // no Tag.N: every tag goes, as in AWS
				continue
			}
			for n, kv := range tags {
				// A value, when given, must match for the tag to go.
				if v, ok := m[kv[0]]; ok && (!hasTagValue(r, n) || kv[1] == v) {
					delete(m, kv[0])
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &returnResp{Return: true}, nil
}

type xTagDesc struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

type describeTagsResp struct {
	ec2Resp
	Tags      set[xTagDesc] `xml:"tagSet"`
	NextToken string        `xml:"nextToken,omitempty"`
}

func (s *Account) describeTags(r *request) (any, error) {
	fs, err := r.filters("resource-id", "resource-type", "key", "value")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	defer s.unlockState()
	out := &describeTagsResp{Tags: set[xTagDesc]{Items: []xTagDesc{}}}
	var ids []string
	for id := range st.byID {
		ids = append(ids, id)
	}
	for _, g := range st.sgs {
		for _, rl := range slices.Concat(g.egress, g.ingress) {
			if len(rl.tags) > 0 {
				ids = append(ids, rl.id)
			}
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		tags, kind, ok := st.taggable(id)
		if !ok {
			continue
		}
		for _, k := range slices.Sorted(mapsKeys(tags)) {
			x := xTagDesc{ResourceID: id, ResourceType: kind, Key: k, Value: tags[k]}
			ok := match(fs, nil, func(name string) []string {
				switch name {
				case "resource-id":
					return []string{x.ResourceID}
				case "resource-type":
					return []string{x.ResourceType}
				case "key":
					return []string{x.Key}
				case "value":
					return []string{x.Value}
				}
				return nil
			})
			if ok {
				out.Tags.Items = append(out.Tags.Items, x)
			}
		}
	}
	var perr error
	if out.Tags.Items, out.NextToken, perr = paginate(r, out.Tags.Items, ""); perr != nil {
		return nil, perr
	}
	return out, nil
}

type xZone struct {
	ZoneName           string    `xml:"zoneName"`
	ZoneID             string    `xml:"zoneId"`
	ZoneState          string    `xml:"zoneState"`
	RegionName         string    `xml:"regionName"`
	GroupName          string    `xml:"groupName"`
	NetworkBorderGroup string    `xml:"networkBorderGroup"`
	OptInStatus        string    `xml:"optInStatus"`
	ZoneType           string    `xml:"zoneType"`
	Messages           set[xTag] `xml:"messageSet"`
}

type describeZonesResp struct {
	ec2Resp
	Zones set[xZone] `xml:"availabilityZoneInfo"`
}

// describeAvailabilityZones lists the zones of the call's region
// (regionTable: the letters and IDs one real account sees).
func (s *Account) describeAvailabilityZones(r *request) (any, error) {
	names := r.list("ZoneName")
	zoneIDs := r.list("ZoneId")
	fs, err := r.filters("zone-name", "zone-id", "state", "region-name", "zone-type", "group-name", "opt-in-status")
	if err != nil {
		return nil, err
	}
	st := s.lockIn(r)
	region := st.region
	s.unlockState()
	out := &describeZonesResp{Zones: set[xZone]{Items: []xZone{}}}
	for _, zone := range zonesOf(region) {
		x := xZone{ZoneName: zone.name, ZoneID: zone.id, ZoneState: "available", RegionName: region, GroupName: region,
			NetworkBorderGroup: region, OptInStatus: "opt-in-not-required", ZoneType: "availability-zone", Messages: set[xTag]{Items: []xTag{}}}
		if !named(names, x.ZoneName) || !named(zoneIDs, x.ZoneID) {
			continue
		}
		ok := match(fs, nil, func(name string) []string {
			switch name {
			case "zone-name":
				return []string{x.ZoneName}
			case "zone-id":
				return []string{x.ZoneID}
			case "state":
				return []string{x.ZoneState}
			case "region-name":
				return []string{x.RegionName}
			case "zone-type":
				return []string{x.ZoneType}
			case "group-name":
				return []string{x.GroupName}
			case "opt-in-status":
				return []string{x.OptInStatus}
			}
			return nil
		})
		if ok {
			out.Zones.Items = append(out.Zones.Items, x)
		}
	}
	for _, n := range names {
		if !slices.ContainsFunc(out.Zones.Items, func(z xZone) bool { return z.ZoneName == n }) {
			return nil, invalidParam("The zone '%s' does not exist.", n)
		}
	}
	return out, nil
}
