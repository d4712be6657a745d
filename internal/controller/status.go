package controller

import (
	"slices"
	"time"

	"github.com/vipd/vipd/internal/admin"
)

// status copies the state into the agents' wire format.
func (s *state) status(c *Controller) admin.Status {
	role := s.role
	if s.maintenance {
		role = RoleMaintenance
	}
	st := admin.Status{
		Cluster:     c.cfg.Cluster,
		Node:        c.cfg.Name,
		Role:        role,
		Since:       s.since,
		Holder:      s.lease.Holder,
		Token:       s.lease.Token,
		LeaseHeld:   s.lease.Held,
		Quorum:      s.lease.Quorum,
		Maintenance: s.maintenance,
		InstanceID:  s.owner,
		Health:      []admin.Check{},
		Resources:   []admin.Resource{},
		Peers:       []admin.Peer{},
		Transitions: slices.Clone(s.transitions),
		Counters:    map[string]int64{},
	}
	if s.lease.Held {
		st.LeaseValid = time.Until(s.lease.ValidUntil).Round(time.Millisecond).String()
	}
	for k, v := range s.counters {
		st.Counters[k] = v
	}
	if own := s.byID[s.owner]; own != nil {
		st.ENIID = own.inst.self.ENIID
		st.Healthy = own.healthy()
	}
	for _, cd := range s.cands {
		addr := ""
		if cd.inst.self.PrivateIP.IsValid() {
			addr = cd.inst.self.PrivateIP.String()
		}
		st.Peers = append(st.Peers, admin.Peer{Name: cd.id, Address: addr, Eligible: cd.healthy(), Reachable: cd.running()})
		if cd.mon == nil {
			continue
		}
		for _, ch := range cd.mon.Status() {
			st.Health = append(st.Health, admin.Check{Name: cd.id + " " + ch.Name, Passing: ch.Passing, LastError: ch.LastError})
		}
	}
	for _, r := range c.proto.Resources() {
		ar, ok := s.resources[r.Name()]
		if !ok {
			ar = admin.Resource{Name: r.Name(), Kind: r.Kind(), State: "unknown"}
		}
		st.Resources = append(st.Resources, ar)
	}
	return st
}
