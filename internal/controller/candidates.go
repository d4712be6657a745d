package controller

import (
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/health"
	"github.com/vipd/vipd/internal/resource"
)

// instance is one candidate as DescribeInstances shows it.
type instance struct {
	self  resource.Self
	state string // EC2 instance state name: pending, running, stopping, ...
}

// candidate is one instance the address may live on. The loop owns it.
type candidate struct {
	id        string
	pref      int    // position in preference order (0 is preferred)
	checkAddr string // replaces {address}; "" means the private IP
	inst      instance
	seen      bool // DescribeInstances returned it in the last refresh
	mon       *health.Monitor
	falls     map[string]int // check name → Fall
	plan      *resource.Plan // this candidate's own resources
	settleBy  time.Time      // when its checks will have had a verdict
	stopMon   func()
}

// running reports whether EC2 says the instance runs.
func (cd *candidate) running() bool {
	return cd.seen && cd.inst.state == string(types.InstanceStateNameRunning)
}

// healthy: running and every check passing.
func (cd *candidate) healthy() bool {
	return cd.running() && cd.mon != nil && cd.mon.Healthy()
}

// failed returns why the candidate is known to be down, or "". A stopped or
// terminated instance (or one gone from EC2) is down at once; otherwise a
// check must have failed Fall times in a row. A check that has not yet
// risen (a fresh controller, a new Lambda invocation) is no verdict.
func (cd *candidate) failed() string {
	if !cd.seen {
		return "instance_gone"
	}
	switch types.InstanceStateName(cd.inst.state) {
	case types.InstanceStateNameRunning, types.InstanceStateNamePending:
	default:
		return "instance_" + strings.ReplaceAll(cd.inst.state, "-", "_")
	}
	if cd.mon == nil {
		return ""
	}
	for _, st := range cd.mon.Status() {
		if !st.Passing && st.Failures > 0 && st.Failures >= cd.fall(st.Name) {
			return "unhealthy"
		}
	}
	return ""
}

// pending reports whether the candidate's checks may still rise: it runs,
// has not failed, and its monitor started less than the time the checks
// need for a verdict ago.
func (cd *candidate) pending(now time.Time) bool {
	return cd.running() && cd.mon != nil && !cd.healthy() && cd.failed() == "" && now.Before(cd.settleBy)
}

// fall returns the Fall of the check named name (1 when unknown).
func (cd *candidate) fall(name string) int {
	return max(cd.falls[name], 1)
}

// selfOf builds the resource.Self of an instance: what a resource needs to
// point at it (the agents read the same from IMDS).
func selfOf(i types.Instance) resource.Self {
	id := awsapi.Identity{
		InstanceID: aws.ToString(i.InstanceId),
		SubnetID:   aws.ToString(i.SubnetId),
		VPCID:      aws.ToString(i.VpcId),
	}
	if i.Placement != nil {
		id.AZ = aws.ToString(i.Placement.AvailabilityZone)
	}
	if a, err := netip.ParseAddr(aws.ToString(i.PrivateIpAddress)); err == nil {
		id.PrivateIP = a
	}
	for _, ni := range i.NetworkInterfaces {
		if ni.Attachment != nil && aws.ToInt32(ni.Attachment.DeviceIndex) == 0 {
			id.ENIID = aws.ToString(ni.NetworkInterfaceId)
			id.MAC = aws.ToString(ni.MacAddress)
			if len(ni.Ipv6Addresses) > 0 {
				id.IPv6, _ = netip.ParseAddr(aws.ToString(ni.Ipv6Addresses[0].Ipv6Address))
			}
			if id.SubnetID == "" {
				id.SubnetID = aws.ToString(ni.SubnetId)
			}
		}
	}
	return resource.Self{Name: id.InstanceID, Identity: id}
}

// apply merges a refresh into the candidate list: new candidates (tag
// mode) get a monitor, vanished ones lose it. It returns the monitors to
// start.
func (s *state) apply(c *Controller, insts map[string]instance) []*candidate {
	var start []*candidate
	if len(c.cfg.Candidates) == 0 {
		// Tag mode: the candidates are whatever matches, by instance id.
		ids := make([]string, 0, len(insts))
		for id := range insts {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			if s.byID[id] == nil {
				cd := &candidate{id: id}
				s.byID[id] = cd
				s.cands = append(s.cands, cd)
			}
		}
		slices.SortFunc(s.cands, func(a, b *candidate) int { return strings.Compare(a.id, b.id) })
		for i, cd := range s.cands {
			cd.pref = i
		}
	}
	for _, cd := range s.cands {
		in, ok := insts[cd.id]
		cd.seen = ok
		if !ok {
			continue
		}
		cd.inst = in
		if cd.plan == nil {
			plan, err := c.deps.Plan()
			if err != nil {
				c.log.Error("resources not built", "instance_id", cd.id, "err", err)
				cd.seen = false
				continue
			}
			cd.plan = plan
		}
		if cd.mon == nil && in.self.PrivateIP.IsValid() {
			start = append(start, cd)
		}
	}
	return start
}

// newMonitor builds cd's health monitor from the check templates.
func (c *Controller) newMonitor(cd *candidate) (*health.Monitor, error) {
	addr := cd.checkAddr
	if addr == "" {
		addr = cd.inst.self.PrivateIP.String()
	}
	checks := make([]config.Check, len(c.cfg.Checks))
	cd.falls = map[string]int{}
	var settle time.Duration
	for i, t := range c.cfg.Checks {
		settle = max(settle, time.Duration(max(t.Rise, t.Fall)+1)*t.Interval)
		checks[i] = config.ExpandCheck(t, addr)
		// Names stay the templates' so that status reads the same for
		// every candidate.
		checks[i].Name = t.Name
		cd.falls[t.Name] = max(t.Fall, 1)
	}
	cd.settleBy = time.Now().Add(settle)
	return health.NewMonitor(checks, c.log.With(slog.String("instance_id", cd.id)))
}
