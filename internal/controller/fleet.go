package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Fleet runs the controllers of many clusters in one process, as a user
// with many HA pairs runs them: every interval one DescribeInstances
// (paginated, filtered by instance id) reads the candidates of every
// cluster that lists them (a cluster selected by tags adds one call of its
// own), and one write gate orders the clusters' writes. Each cluster keeps
// its own controller: its lease, owner record, health checks, moves and
// admin API, so the safety argument of one cluster holds for each
// (docs/controller.md). A cluster whose moves fail, or whose lease or
// owner record cannot be reached, delays no other: each has its own loop,
// and reads are delivered to it without waiting.
type Fleet struct {
	ctls        []*Controller
	ec2         EC2
	interval    time.Duration
	callTimeout time.Duration
	gate        *writeGate
	log         *slog.Logger
}

// FleetOptions configure a fleet.
type FleetOptions struct {
	// EC2 reads every cluster's candidates.
	EC2 EC2
	// Interval is the read period. Default 1s.
	Interval time.Duration
	// CallTimeout bounds each DescribeInstances page. Default 2s.
	CallTimeout time.Duration
	// WriteConcurrency bounds the writes in flight over all clusters.
	// Default DefaultWriteConcurrency.
	WriteConcurrency int
	Log              *slog.Logger
}

// NewFleet returns a fleet of ctls (each from New, none run yet); nothing
// runs before Run.
func NewFleet(ctls []*Controller, o FleetOptions) (*Fleet, error) {
	if len(ctls) == 0 {
		return nil, errors.New("new fleet: no clusters")
	}
	if o.EC2 == nil {
		return nil, errors.New("new fleet: EC2 is required")
	}
	seen := map[string]bool{}
	for _, c := range ctls {
		if seen[c.cfg.Cluster] {
			return nil, fmt.Errorf("new fleet: cluster %q twice", c.cfg.Cluster)
		}
		seen[c.cfg.Cluster] = true
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 2 * time.Second
	}
	if o.WriteConcurrency <= 0 {
		o.WriteConcurrency = DefaultWriteConcurrency
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Fleet{ctls: ctls, ec2: o.EC2, interval: o.Interval, callTimeout: o.CallTimeout,
		gate: newWriteGate(o.WriteConcurrency), log: o.Log.With("component", "fleet")}, nil
}

// Controllers returns the fleet's controllers, in configuration order.
func (f *Fleet) Controllers() []*Controller { return slices.Clone(f.ctls) }

// Run runs every cluster's controller and the shared read until ctx is
// done, and returns after every goroutine it started has exited.
func (f *Fleet) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feeds := make([]chan refreshDone, len(f.ctls))
	for i, c := range f.ctls {
		feeds[i] = make(chan refreshDone, 1)
		wg.Go(func() { _ = c.run(cctx, feeds[i], f.gate) })
	}
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	for {
		reads := f.read(cctx)
		for i, r := range reads {
			deliver(feeds[i], r)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// deliver puts r in feed, replacing an older read the controller has not
// taken yet: a busy controller gets the newest state, and the read never
// waits for it. The fleet is feed's only sender.
func deliver(feed chan refreshDone, r refreshDone) {
	select {
	case <-feed:
	default:
	}
	feed <- r
}

// read makes the interval's DescribeInstances: one for every cluster that
// lists its candidates by id, one for each cluster selected by tags, and
// returns each controller's part.
func (f *Fleet) read(ctx context.Context) []refreshDone {
	out := make([]refreshDone, len(f.ctls))
	var ids []string
	for _, c := range f.ctls {
		for _, cd := range c.cfg.Candidates {
			ids = append(ids, cd.ID)
		}
	}
	var byID map[string]instance
	var idErr error
	if len(ids) > 0 {
		slices.Sort(ids)
		ids = slices.Compact(ids)
		byID, idErr = f.describe(ctx, []types.Filter{{Name: aws.String("instance-id"), Values: ids}})
	}
	for i, c := range f.ctls {
		if len(c.cfg.Candidates) == 0 {
			var filters []types.Filter
			for _, t := range c.cfg.Tags {
				filters = append(filters, types.Filter{Name: aws.String("tag:" + t.Key), Values: []string{t.Value}})
			}
			insts, err := f.describe(ctx, filters)
			out[i] = refreshDone{insts: insts, err: err}
			continue
		}
		if idErr != nil {
			out[i] = refreshDone{err: idErr}
			continue
		}
		mine := map[string]instance{}
		for _, cd := range c.cfg.Candidates {
			if in, ok := byID[cd.ID]; ok {
				mine[cd.ID] = in
			}
		}
		out[i] = refreshDone{insts: mine}
	}
	return out
}

// describe reads the instances filters select, every page (filters, so
// that an instance that no longer exists is missing from the answer
// rather than failing the call with InvalidInstanceID.NotFound).
func (f *Fleet) describe(ctx context.Context, filters []types.Filter) (map[string]instance, error) {
	out := map[string]instance{}
	p := ec2.NewDescribeInstancesPaginator(f.ec2, &ec2.DescribeInstancesInput{Filters: filters})
	for p.HasMorePages() {
		cctx, cancel := context.WithTimeout(ctx, f.callTimeout)
		page, err := p.NextPage(cctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("describe candidate instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				st := ""
				if i.State != nil {
					st = string(i.State.Name)
				}
				out[aws.ToString(i.InstanceId)] = instance{self: selfOf(i), state: st}
			}
		}
	}
	return out, nil
}
