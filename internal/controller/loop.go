package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource"
)

// Roles of a controller in status.
const (
	RoleActive      = "active"
	RoleStandby     = "standby"
	RoleMaintenance = "maintenance"
)

// state is the controller's state; only Run's loop goroutine touches it.
type state struct {
	cands []*candidate // preference order
	byID  map[string]*candidate

	lease       election.Status
	token       uint64 // the grant the fields below belong to
	surveyed    bool   // owner is known for token
	owner       string // instance the resources point at ("" none)
	recorded    string // instance the owner record names
	maintenance bool
	refreshed   bool // a refresh has completed

	worker        string // "", "survey", "move", "reconcile"
	cancelWorker  context.CancelFunc
	lastReconcile time.Time
	waiters       []chan error // switchover callers of the running move
	nextMove      *moveReq     // an operator move to start next

	role        string
	since       time.Time
	transitions []admin.Transition
	resources   map[string]admin.Resource
	counters    map[string]int64
}

type moveReq struct {
	to     string
	reason string
	reply  chan error
}

// messages from workers to the loop.
type (
	refreshDone struct {
		insts map[string]instance
		err   error
	}
	surveyDone struct {
		token    uint64
		owner    string
		recorded string
		status   map[string]admin.Resource
		err      error
	}
	moveDone struct {
		token    uint64
		from, to string
		reason   string
		steps    []admin.Step
		status   map[string]admin.Resource
		took     time.Duration
		err      error
	}
)

// Run runs the controller — its lease, the candidates' health checks and
// the decision loop — until ctx is done, and returns after every goroutine
// it started has exited. A move in flight when ctx ends is cancelled; its
// writes are fenced and bounded, and the next holder completes it. It is
// a fleet of one cluster (Fleet): the same code serves one and many.
func (c *Controller) Run(ctx context.Context) error {
	f, err := NewFleet([]*Controller{c}, FleetOptions{EC2: c.deps.EC2, Interval: c.cfg.Interval, CallTimeout: c.cfg.CallTimeout, Log: c.deps.Log})
	if err != nil {
		close(c.done)
		return err
	}
	return f.Run(ctx)
}

// run is one cluster's loop under a fleet: feed brings each read of its
// candidates, gate orders its moves' writes with the other clusters'.
func (c *Controller) run(ctx context.Context, feed <-chan refreshDone, gate *writeGate) error {
	defer close(c.done)
	c.gate = gate
	var wg sync.WaitGroup
	// Children (lease, monitors, workers) stop before run returns.
	cctx, cancel := context.WithCancel(ctx)
	defer wg.Wait()
	defer cancel()

	wg.Go(func() {
		if err := c.deps.Lease.Run(cctx); err != nil {
			c.log.Error("lease stopped", "err", err)
		}
	})
	s := &state{
		byID:      map[string]*candidate{},
		role:      RoleStandby,
		since:     time.Now(),
		resources: map[string]admin.Resource{},
		counters:  map[string]int64{},
	}
	for i, cd := range c.cfg.Candidates {
		x := &candidate{id: cd.ID, pref: i, checkAddr: cd.CheckAddress}
		s.cands = append(s.cands, x)
		s.byID[cd.ID] = x
	}
	msgs := make(chan any)
	healthPoke := make(chan struct{}, 1)
	send := func(m any) {
		select {
		case msgs <- m:
		case <-cctx.Done():
		}
	}
	for {
		select {
		case <-ctx.Done():
			if s.cancelWorker != nil {
				s.cancelWorker()
			}
			for _, w := range s.waiters {
				w <- errors.New("controller stopped")
			}
			if s.nextMove != nil {
				s.nextMove.reply <- errors.New("controller stopped")
			}
			c.log.Info("controller stopped", "reason", "stop")
			return nil
		case m := <-feed:
			if m.err != nil {
				s.counters["refresh_errors"]++
				c.log.Warn("candidates not read", "err", m.err)
				break
			}
			s.refreshed = true
			for _, cd := range s.apply(c, m.insts) {
				c.startMonitor(cctx, &wg, cd, healthPoke)
			}
			c.deps.Metrics.candidates(s.cands)
		case m := <-msgs:
			switch m := m.(type) {
			case surveyDone:
				c.surveyed(s, m)
			case moveDone:
				c.moved(s, m)
			}
		case <-c.deps.Lease.Changes():
		case <-healthPoke:
		case r := <-c.reqs:
			r.fn(s)
		}
		c.decide(cctx, &wg, s, send)
	}
}

// startMonitor starts cd's health checks; a failure to build them (a bad
// template) is logged and the candidate stays unhealthy.
func (c *Controller) startMonitor(ctx context.Context, wg *sync.WaitGroup, cd *candidate, poke chan struct{}) {
	mon, err := c.newMonitor(cd)
	if err != nil {
		c.log.Error("health checks not started", "instance_id", cd.id, "err", err)
		return
	}
	mctx, stop := context.WithCancel(ctx)
	cd.mon, cd.stopMon = mon, stop
	wg.Go(func() { _ = mon.Run(mctx) })
	wg.Go(func() {
		for {
			select {
			case <-mon.Changes():
				select {
				case poke <- struct{}{}:
				default:
				}
			case <-mctx.Done():
				return
			}
		}
	})
}

// decide is called after every event: it follows the lease and starts the
// next piece of work when none is running.
func (c *Controller) decide(ctx context.Context, wg *sync.WaitGroup, s *state, send func(any)) {
	st := c.deps.Lease.Status()
	s.lease = st
	c.deps.Metrics.lease(st)
	if !st.Held {
		if s.role != RoleStandby {
			c.log.Info("controller standby", "from", s.role, "to", RoleStandby, "token", s.token, "reason", "lease_lost")
			s.transition(c, "", "", "lease_lost", nil)
			s.role, s.since = RoleStandby, time.Now()
			if s.cancelWorker != nil {
				s.cancelWorker()
			}
		}
		s.surveyed = false
		return
	}
	if st.Token != s.token || s.role == RoleStandby {
		if s.cancelWorker != nil {
			s.cancelWorker()
		}
		s.token, s.surveyed = st.Token, false
		if s.role == RoleStandby {
			c.log.Info("controller active", "from", s.role, "to", RoleActive, "token", st.Token, "reason", "lease_granted")
			s.role, s.since = RoleActive, time.Now()
			s.transition(c, "", "", "lease_granted", nil)
		}
	}
	if s.worker != "" || !s.refreshed {
		return
	}
	tok := st.Fence(c.deps.Lease.Valid)
	if !s.surveyed {
		c.startSurvey(ctx, wg, s, tok, send)
		return
	}
	if r := s.nextMove; r != nil {
		s.nextMove = nil
		cd := s.byID[r.to]
		if cd == nil || !cd.healthy() {
			r.reply <- fmt.Errorf("candidate %s is not healthy", r.to)
			return
		}
		s.waiters = append(s.waiters, r.reply)
		c.startMove(ctx, wg, s, tok, cd, r.reason, send)
		return
	}
	if s.maintenance {
		return
	}
	if cd, reason := s.choose(c); cd != nil {
		c.startMove(ctx, wg, s, tok, cd, reason, send)
		return
	}
	if s.owner != "" && time.Since(s.lastReconcile) >= c.cfg.ReconcileInterval {
		if cd := s.byID[s.owner]; cd != nil && cd.seen {
			c.startMove(ctx, wg, s, tok, cd, "reconcile", send)
		}
	}
}

// choose returns the candidate to move to and why, or nil to stay.
func (s *state) choose(c *Controller) (*candidate, string) {
	var best *candidate
	for _, cd := range s.cands {
		if cd.healthy() {
			best = cd
			break
		}
	}
	own := s.byID[s.owner]
	switch {
	case s.owner == "" || own == nil:
		// Nobody to fail over from: wait until every more preferred
		// candidate's checks had a verdict, so that the start does not
		// go to whichever instance answered first.
		now := time.Now()
		for _, cd := range s.cands {
			if cd.healthy() {
				return cd, "no_owner"
			}
			if cd.pending(now) {
				return nil, ""
			}
		}
		return nil, ""
	case best != nil && best != own:
		if why := own.failed(); why != "" {
			return best, why
		}
		if c.cfg.Preempt && best.pref < own.pref {
			return best, "preempt"
		}
	}
	if s.recorded != s.owner && own.seen {
		// The resources point at the owner but the record does not say
		// so (a controller died between the two): record it.
		return own, "record_owner"
	}
	return nil, ""
}

// switchover queues an operator move; the loop starts it when idle.
func (s *state) switchover(c *Controller, to string) (<-chan error, error) {
	if !s.lease.Held {
		return nil, ErrNotActive
	}
	if to == "" {
		if s.worker == "move" || !s.surveyed {
			// "The other one" is only defined once the owner is known.
			return nil, errors.New("the owner is changing; retry or name the target")
		}
		for _, cd := range s.cands {
			if cd.id != s.owner && cd.healthy() {
				to = cd.id
				break
			}
		}
		if to == "" {
			return nil, errors.New("no other healthy candidate")
		}
	}
	cd := s.byID[to]
	if cd == nil {
		return nil, fmt.Errorf("%s is not a candidate: %w", to, election.ErrUnknownNode)
	}
	if !cd.healthy() {
		return nil, fmt.Errorf("candidate %s is not healthy: %w", to, election.ErrNotEligible)
	}
	reply := make(chan error, 1)
	if s.nextMove != nil {
		s.nextMove.reply <- errors.New("superseded by another switchover")
	}
	s.nextMove = &moveReq{to: to, reason: "switchover", reply: reply}
	return reply, nil
}

func (c *Controller) startSurvey(ctx context.Context, wg *sync.WaitGroup, s *state, tok fence.Token, send func(any)) {
	type cand struct {
		id   string
		self instance
		plan *resource.Plan
	}
	var cands []cand
	for _, cd := range s.cands {
		if cd.seen {
			cands = append(cands, cand{cd.id, cd.inst, cd.plan})
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	s.worker, s.cancelWorker = "survey", cancel
	wg.Go(func() {
		defer cancel()
		res := surveyDone{token: tok.N()}
		rec, err := c.readOwner(wctx)
		if err != nil {
			res.err = err
			send(res)
			return
		}
		res.recorded = rec.instance
		// The recorded owner first: usually it is the one in sync.
		for i, cd := range cands {
			if cd.id == rec.instance {
				cands[0], cands[i] = cands[i], cands[0]
			}
		}
		for _, cd := range cands {
			status, inSync, err := c.checkAll(wctx, cd.plan, cd.self)
			if err != nil {
				res.err = err
				break
			}
			if inSync {
				res.owner, res.status = cd.id, status
				break
			}
		}
		send(res)
	})
}

func (c *Controller) surveyed(s *state, m surveyDone) {
	s.worker, s.cancelWorker = "", nil
	s.counters["surveys"]++
	if m.token != s.token {
		return
	}
	if m.err != nil {
		c.log.Warn("owner not surveyed", "token", m.token, "err", m.err)
		return
	}
	s.surveyed, s.recorded, s.lastReconcile = true, m.recorded, time.Now()
	if m.owner != s.owner {
		s.transition(c, s.owner, m.owner, "survey", nil)
	}
	s.owner = m.owner
	if m.status != nil {
		s.resources = m.status
	}
	c.log.Info("owner surveyed", "instance_id", m.owner, "reason", "recorded "+m.recorded, "token", m.token)
}

func (c *Controller) moved(s *state, m moveDone) {
	s.worker, s.cancelWorker = "", nil
	waiters := s.waiters
	s.waiters = nil
	maps.Copy(s.resources, m.status)
	if m.reason == "reconcile" {
		s.lastReconcile = time.Now()
	}
	if m.err != nil {
		s.counters["move_failures"]++
		c.deps.Metrics.move(m.reason, m.took, m.err)
		if errors.Is(m.err, ErrStaleToken) {
			// The lease says this controller holds, the record says a
			// newer grant wrote: another controller group (another lease
			// table or key) or a hand edit. A person must look.
			c.log.Error("owner record has a newer token", "to", m.to, "token", m.token, "err", m.err)
		} else {
			c.log.Warn("move failed", "from", m.from, "to", m.to, "reason", m.reason, "token", m.token, "duration", m.took, "err", m.err)
		}
		for _, w := range waiters {
			w <- m.err
		}
		// The resources may point anywhere now: survey again.
		if m.reason != "reconcile" {
			s.surveyed = false
		}
		return
	}
	for _, w := range waiters {
		w <- nil
	}
	if m.token == s.token {
		s.recorded = m.to
	}
	if m.from == m.to && m.reason == "reconcile" {
		return
	}
	s.counters["moves"]++
	c.deps.Metrics.move(m.reason, m.took, nil)
	if m.from != m.to {
		c.log.Info("owner moved", "from", m.from, "to", m.to, "reason", m.reason, "token", m.token, "duration", m.took)
	}
	s.transition(c, m.from, m.to, m.reason, m.steps)
	s.owner = m.to
}

// transition records an owner or role change in the history.
func (s *state) transition(c *Controller, from, to, reason string, steps []admin.Step) {
	now := time.Now()
	var prev time.Time
	if n := len(s.transitions); n > 0 {
		prev = s.transitions[n-1].At
	} else {
		prev = s.since
	}
	if from == "" && to == "" {
		from, to = s.owner, s.owner
	}
	s.transitions = append(s.transitions, admin.Transition{
		At: now, From: from, To: to, Reason: reason, Token: s.token,
		InPreviousMS: float64(now.Sub(prev).Microseconds()) / 1000, Steps: steps,
	})
	if over := len(s.transitions) - c.cfg.History; over > 0 {
		s.transitions = append(s.transitions[:0], s.transitions[over:]...)
	}
}
