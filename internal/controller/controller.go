// Package controller is vipd's agentless mode (as AWS's Lambda recipe for
// a private VIP across zones): one vipd outside
// the candidate instances health-checks each of them against its private
// address, reads their instance state, and when the owner of the service
// address fails moves every cloud-side resource (overlay-route,
// secondary-ip, elastic-ip, route53) to the most preferred healthy
// candidate, records the owner in an SSM parameter and runs notify hooks.
//
// Several controllers may run (daemons, or successive Lambda invocations);
// only the holder of their shared lease acts, and every write it makes
// carries the grant's fencing token: resource writes through
// resource.Write, the owner record with a condition on the token it holds.
//
// One goroutine (the cluster's loop) owns the controller's state; surveys,
// moves and hooks run in workers that report back by message. A Fleet runs
// many clusters' controllers in one process: it reads every cluster's
// instances with one DescribeInstances a pass and orders their writes
// (fleet.go, gate.go); Run is a fleet of one. The same code runs under
// `vipd controller` and in the Lambda function.
// Imported by internal/daemon (vipd controller), cmd/vipd-lambda and tests.
package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/hooks"
	"github.com/vipd/vipd/internal/resource"
)

// EC2 is the part of EC2 the controller itself calls; *ec2.Client fits.
type EC2 interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// SSM is the part of SSM the owner record needs; *ssm.Client fits.
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// Lease is the controllers' shared lease as the controller reads it; the
// election backends fit. The controller runs it (Run) for as long as
// itself.
type Lease interface {
	Run(ctx context.Context) error
	Status() election.Status
	Changes() <-chan struct{}
	Valid(token uint64) (until time.Time, ok bool)
}

// Notifier runs notify hooks; *hooks.Runner fits.
type Notifier interface {
	Notify(ctx context.Context, ev hooks.Event) error
}

// ErrStaleToken reports that the owner record holds a higher fencing token
// than the writer's: a newer controller grant has already recorded an
// owner, so this controller was deposed and must not overwrite it.
var ErrStaleToken = errors.New("owner record has a newer token")

// ErrNotActive is returned by operator requests to a controller that does
// not hold the lease.
var ErrNotActive = errors.New("controller is not active (does not hold the lease)")

// Config is what the controller needs besides its collaborators.
type Config struct {
	// Cluster names the group (hooks, status).
	Cluster string
	// Name is this controller's name (the lease's member name).
	Name string
	// Candidates in preference order, or Tags to find them.
	Candidates []config.Candidate
	Tags       []config.Tag
	// Checks are the health check templates ({address} substituted).
	Checks []config.Check
	// Preempt moves the address back to a more preferred healthy candidate.
	Preempt bool
	// Interval is the pass period (instance state read). Default 1s.
	Interval time.Duration
	// ReconcileInterval is the owner's drift check period. Default 5s.
	ReconcileInterval time.Duration
	// CallTimeout bounds each AWS call the controller makes itself.
	// Default 2s.
	CallTimeout time.Duration
	// OwnerParameter names the SSM owner record.
	OwnerParameter config.OwnerParameter
	// HookTimeout bounds the wait for hooks at stop. Default 10s.
	HookTimeout time.Duration
	// History is how many owner changes status keeps. Default 32.
	History int
}

// FromConfig returns the controller Config of a parsed configuration;
// name overrides c.Name when c.Name is empty.
func FromConfig(c *config.Controller, name string) Config {
	if c.Name != "" {
		name = c.Name
	}
	return Config{
		Cluster:           c.Cluster,
		Name:              name,
		Candidates:        c.Candidates.Instances,
		Tags:              c.Candidates.Tags,
		Checks:            c.Health,
		Preempt:           c.Preempt,
		Interval:          c.Interval,
		ReconcileInterval: c.Reconcile.Interval,
		CallTimeout:       c.AWS.CallTimeout,
		OwnerParameter:    c.OwnerParameter,
		HookTimeout:       c.Notify.Timeout,
	}
}

// Deps are the controller's collaborators.
type Deps struct {
	EC2   EC2
	SSM   SSM
	Lease Lease
	// Plan returns a fresh plan of the resources; it is called once per
	// candidate, so that what a resource remembers between calls about its
	// owner (overlay-route: the source/dest check already turned off)
	// stays with that candidate.
	Plan    func() (*resource.Plan, error)
	Hooks   Notifier // nil: no hooks
	Metrics *Metrics // nil: no metrics
	Log     *slog.Logger
}

// Controller is one controller. Run drives it; Status, Switchover and
// Maintenance (the admin API) are safe for concurrent use.
type Controller struct {
	cfg   Config
	deps  Deps
	proto *resource.Plan // one set, for names and kinds in status
	log   *slog.Logger
	reqs  chan request
	done  chan struct{} // closed when Run's loop has exited
	gate  *writeGate    // the fleet's; set by run before any move
}

// request is a closure run on the loop goroutine.
type request struct {
	fn func(s *state)
}

// New checks cfg and returns a controller; nothing runs before Run.
func New(cfg Config, deps Deps) (*Controller, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.ReconcileInterval <= 0 {
		cfg.ReconcileInterval = 5 * time.Second
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 2 * time.Second
	}
	if cfg.HookTimeout <= 0 {
		cfg.HookTimeout = 10 * time.Second
	}
	if cfg.History <= 0 {
		cfg.History = 32
	}
	// Checks without a name get their probe's, as in a parsed config;
	// the failure rule looks each check's fall up by name.
	named := config.Config{Health: slices.Clone(cfg.Checks)}
	named.DeriveDefaults()
	cfg.Checks = named.Health
	if cfg.OwnerParameter.Type == "" {
		cfg.OwnerParameter.Type = config.ParameterString
	}
	switch {
	case len(cfg.Candidates) == 0 && len(cfg.Tags) == 0:
		return nil, errors.New("new controller: no candidates and no tag filter")
	case cfg.OwnerParameter.Name == "":
		return nil, errors.New("new controller: no owner parameter")
	case deps.EC2 == nil || deps.SSM == nil || deps.Lease == nil:
		return nil, errors.New("new controller: EC2, SSM and Lease are required")
	case deps.Plan == nil:
		return nil, errors.New("new controller: no resources")
	}
	proto, err := deps.Plan()
	if err != nil {
		return nil, fmt.Errorf("new controller: %w", err)
	}
	if len(proto.Resources()) == 0 {
		return nil, errors.New("new controller: no resources")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Controller{
		cfg:   cfg,
		deps:  deps,
		proto: proto,
		log:   deps.Log.With("component", "controller"),
		reqs:  make(chan request),
		done:  make(chan struct{}),
	}, nil
}

// do runs fn on the loop goroutine and waits for it.
func (c *Controller) do(ctx context.Context, fn func(s *state)) error {
	ran := make(chan struct{})
	select {
	case c.reqs <- request{fn: func(s *state) { fn(s); close(ran) }}:
	case <-c.done:
		return errors.New("controller stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ran:
		return nil
	case <-c.done:
		return errors.New("controller stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Status returns the controller's state in the agents' wire format:
// Node is the controller, InstanceID the owner, Role active, standby or
// maintenance, Peers the candidates, Health their checks.
func (c *Controller) Status(ctx context.Context) (admin.Status, error) {
	var st admin.Status
	err := c.do(ctx, func(s *state) { st = s.status(c) })
	return st, err
}

// Switchover moves the service address to candidate to (an instance id;
// "" means the most preferred other healthy candidate) and waits for the
// move to finish. Only the active controller can.
func (c *Controller) Switchover(ctx context.Context, to string) error {
	var done <-chan error
	var err error
	if derr := c.do(ctx, func(s *state) { done, err = s.switchover(c, to) }); derr != nil {
		return fmt.Errorf("switchover: %w", derr)
	}
	if err != nil {
		return fmt.Errorf("switchover: %w", err)
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("switchover: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("switchover: %w", ctx.Err())
	}
}

// Standby is the admin API's standby: for the controller itself (node
// "") it is Maintenance; targets cannot be put in standby one by one.
func (c *Controller) Standby(ctx context.Context, node string, on bool) error {
	if node != "" {
		return fmt.Errorf("standby of %s: a controller pauses all automatic moves or none: run vipd standby without --node", node)
	}
	return c.Maintenance(ctx, on)
}

// Maintenance stops (on) or resumes automatic moves.
func (c *Controller) Maintenance(ctx context.Context, on bool) error {
	return c.do(ctx, func(s *state) {
		if s.maintenance != on {
			s.maintenance = on
			s.transition(c, "", "", map[bool]string{true: "maintenance_on", false: "maintenance_off"}[on], nil)
		}
	})
}
