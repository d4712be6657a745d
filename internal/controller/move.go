package controller

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/resource"
)

// startMove points every resource at cd, in order, each verified by
// reading back, then records cd as the owner and runs the hooks. The same
// worker repairs drift when cd is already the owner (reason "reconcile"):
// resources in sync cost one Describe each and no write.
func (c *Controller) startMove(ctx context.Context, wg *sync.WaitGroup, s *state, tok fence.Token, cd *candidate, reason string, send func(any)) {
	wctx, cancel := context.WithCancel(ctx)
	s.worker, s.cancelWorker = "move", cancel
	from, self, plan := s.owner, cd.inst.self, cd.plan
	gctx := wctx
	if c.gate != nil {
		gctx = resource.WithWriteGate(wctx, c.gate)
	}
	if reason != "reconcile" {
		c.log.Info("moving owner", "from", from, "to", cd.id, "reason", reason, "token", tok.N())
	}
	wg.Go(func() {
		defer cancel()
		start := time.Now()
		m := moveDone{token: tok.N(), from: from, to: cd.id, reason: reason, status: map[string]admin.Resource{}}
		// The resources' writes queue with the fleet's other clusters';
		// the owner record (SSM, its own limits) does not.
		m.steps, m.err = c.acquireAll(gctx, plan, self, tok, m.status)
		if m.err == nil {
			t := time.Now()
			wrote, err := c.recordOwner(wctx, tok, cd.id)
			if wrote || err != nil {
				m.steps = append(m.steps, step("owner-parameter "+c.cfg.OwnerParameter.Name, "record", t, err))
			}
			m.err = err
		}
		m.took = time.Since(start)
		if m.err == nil && (from != cd.id || reason == "switchover") {
			// Hooks run beside the loop, never holding up the next pass.
			wg.Go(func() { c.notify(context.WithoutCancel(ctx), from, cd.id, reason, tok.N()) })
		}
		send(m)
	})
}

func step(name, op string, start time.Time, err error) admin.Step {
	st := admin.Step{Resource: name, Op: op, DurationMS: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}

// acquireAll acquires every resource for self in order and stops at the
// first failure: the next pass retries from a fresh read.
func (c *Controller) acquireAll(ctx context.Context, plan *resource.Plan, self resource.Self, tok fence.Token, status map[string]admin.Resource) ([]admin.Step, error) {
	steps, err := plan.Acquire(ctx, self, tok)
	out := make([]admin.Step, len(steps))
	for i, st := range steps {
		out[i] = admin.Step{Resource: st.Resource, Op: st.Op, DurationMS: float64(st.Took.Microseconds()) / 1000}
		ar := admin.Resource{Name: st.Resource, Kind: st.Kind, State: "owned", InSync: st.Err == nil, AcquireMS: out[i].DurationMS}
		if st.Err != nil {
			out[i].Error = st.Err.Error()
			ar.State, ar.LastError = "failed", st.Err.Error()
		}
		status[st.Resource] = ar
		c.deps.Metrics.acquired(st.Kind, st.Took)
	}
	if err != nil {
		return out, fmt.Errorf("move to %s: %w", self.InstanceID, err)
	}
	return out, nil
}

// checkAll reads every resource for self; inSync is true when all point at
// it.
func (c *Controller) checkAll(ctx context.Context, plan *resource.Plan, self instance) (map[string]admin.Resource, bool, error) {
	status := map[string]admin.Resource{}
	all := true
	for ch := range plan.Check(ctx, self.self) {
		r, st := ch.Resource, ch.Status
		if ch.Err != nil {
			return nil, false, fmt.Errorf("check %s for %s: %w", r.Name(), self.self.InstanceID, ch.Err)
		}
		state := "owned"
		if !st.InSync {
			state, all = "elsewhere", false
		}
		status[r.Name()] = admin.Resource{Name: r.Name(), Kind: r.Kind(), State: state, InSync: st.InSync, Drift: st.Drift}
	}
	return status, all, nil
}

// ownerRecord is the owner parameter's value: "<instance-id> <token>".
type ownerRecord struct {
	instance string
	token    uint64
	version  int64
}

// ParseOwner parses an owner parameter value ("i-0abc 17").
func ParseOwner(v string) (instance string, token uint64, err error) {
	id, tok, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.HasPrefix(id, "i-") {
		return "", 0, fmt.Errorf("owner record %q is not \"<instance-id> <token>\"", v)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(tok), 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("owner record %q: token: %w", v, err)
	}
	return id, n, nil
}

// FormatOwner is the owner parameter's value for instance under token.
func FormatOwner(instance string, token uint64) string {
	return instance + " " + strconv.FormatUint(token, 10)
}

// readOwner reads the owner record; a missing parameter is the zero
// record, and a value vipd did not write (the Lambda recipe wrote a bare
// host name)
// counts as token 0, so that the first move replaces it.
func (c *Controller) readOwner(ctx context.Context) (ownerRecord, error) {
	cctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	out, err := c.deps.SSM.GetParameter(cctx, &ssm.GetParameterInput{
		Name:           aws.String(c.cfg.OwnerParameter.Name),
		WithDecryption: aws.Bool(true),
	})
	var nf *ssmtypes.ParameterNotFound
	if errors.As(err, &nf) {
		return ownerRecord{}, nil
	}
	if err != nil {
		return ownerRecord{}, fmt.Errorf("read owner parameter %s: %w", c.cfg.OwnerParameter.Name, err)
	}
	rec := ownerRecord{version: out.Parameter.Version}
	id, tok, perr := ParseOwner(aws.ToString(out.Parameter.Value))
	if perr != nil {
		c.log.Warn("owner parameter not written by vipd", "reason", perr.Error())
		return rec, nil
	}
	rec.instance, rec.token = id, tok
	return rec, nil
}

// recordOwner writes "<instance> <token>" unless the record already says
// exactly that. SSM has no conditional put, so the condition is read, then
// write under the grant: a record with a higher token means a newer grant
// has acted and this controller is deposed (ErrStaleToken); the write
// itself is bounded by the grant's validity (resource.Write), and grants do
// not overlap, so no higher token can be recorded between the read and the
// write.
func (c *Controller) recordOwner(ctx context.Context, tok fence.Token, instance string) (wrote bool, err error) {
	rec, err := c.readOwner(ctx)
	if err != nil {
		return false, err
	}
	if rec.token > tok.N() {
		return false, fmt.Errorf("record owner %s with token %d: record has %s with token %d: %w", instance, tok.N(), rec.instance, rec.token, ErrStaleToken)
	}
	if rec.instance == instance && rec.token == tok.N() {
		return false, nil
	}
	name := c.cfg.OwnerParameter.Name
	err = resource.Write(ctx, tok, "record owner in "+name, func(ctx context.Context) error {
		_, err := c.deps.SSM.PutParameter(ctx, &ssm.PutParameterInput{
			Name:      aws.String(name),
			Value:     aws.String(FormatOwner(instance, tok.N())),
			Type:      ssmtypes.ParameterType(c.cfg.OwnerParameter.Type),
			Overwrite: aws.Bool(true),
		})
		return err
	})
	return err == nil, err
}

// notify runs the master hook for the new owner and the backup hook for
// the previous one; failures are logged and counted, never returned.
func (c *Controller) notify(ctx context.Context, from, to, reason string, token uint64) {
	if c.deps.Hooks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.HookTimeout)
	defer cancel()
	evs := []hooks.Event{{State: hooks.Master, PreviousState: hooks.Backup, Reason: reason, Node: to, Holder: c.cfg.Name, Token: token, Time: time.Now()}}
	if from != "" && from != to {
		evs = append(evs, hooks.Event{State: hooks.Backup, PreviousState: hooks.Master, Reason: reason, Node: from, Holder: c.cfg.Name, Token: token, Time: time.Now()})
	}
	for _, ev := range evs {
		if err := c.deps.Hooks.Notify(ctx, ev); err != nil {
			c.deps.Metrics.hookFailed(string(ev.State))
			c.log.Warn("notify script failed", "state", string(ev.State), "instance_id", ev.Node, "err", err)
		}
	}
}
