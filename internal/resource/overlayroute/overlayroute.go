// Package overlayroute implements the overlay-route resource (the
// overlay-IP failover): one or more CIDRs, IPv4 or IPv6, routed, in every
// listed route table (every table of the owner's VPC, or every one of its
// tables that carries the configured tags), to the owner's primary ENI.
//
// Acquire reads all tables with one DescribeRouteTables, replaces (or
// creates) only the routes that point elsewhere, in parallel, then reads
// back until every route points at self. The number of AWS calls grows with
// route tables × CIDRs that are wrong, never with calls per CIDR that are
// already right. Release deletes nothing unless DeleteOnRelease is set: the
// next owner replaces the routes, and a deleted route would black-hole the
// address until then.
package overlayroute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vipd/vipd/internal/awsapi"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/fence"
	"github.com/vipd/vipd/internal/resource"
)

// EC2 is the part of the EC2 API this resource calls; *ec2.Client fits.
type EC2 interface {
	DescribeRouteTables(ctx context.Context, in *ec2.DescribeRouteTablesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	CreateRoute(ctx context.Context, in *ec2.CreateRouteInput, optFns ...func(*ec2.Options)) (*ec2.CreateRouteOutput, error)
	ReplaceRoute(ctx context.Context, in *ec2.ReplaceRouteInput, optFns ...func(*ec2.Options)) (*ec2.ReplaceRouteOutput, error)
	DeleteRoute(ctx context.Context, in *ec2.DeleteRouteInput, optFns ...func(*ec2.Options)) (*ec2.DeleteRouteOutput, error)
	ModifyInstanceAttribute(ctx context.Context, in *ec2.ModifyInstanceAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifyInstanceAttributeOutput, error)
}

// Options tune the resource.
type Options struct {
	// CallTimeout bounds each AWS call (default 2s).
	CallTimeout time.Duration
	// Parallel bounds concurrent writes (default 8).
	Parallel int
}

// Resource is one overlay-route resource. Its methods are called by the
// node loop's workers one at a time; the only state kept between calls is
// whether the source/dest check was already turned off.
type Resource struct {
	name      string
	cfg       config.OverlayRoute
	prefixes  []netip.Prefix
	ec2       EC2
	opts      Options
	log       *slog.Logger
	srcDstOff atomic.Bool
	// routes is how many (table, prefix) pairs the last read found.
	routes atomic.Int64
}

// New returns the resource for cfg.
func New(cfg config.OverlayRoute, c EC2, opts Options, log *slog.Logger) *Resource {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 2 * time.Second
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	ps := cfg.Prefixes()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	return &Resource{
		name:     "overlay-route " + strings.Join(names, ","),
		cfg:      cfg,
		prefixes: ps,
		ec2:      c,
		opts:     opts,
		log:      log.With("component", "overlay-route"),
	}
}

// Name identifies the resource in status and logs.
func (r *Resource) Name() string { return r.name }

// Kind is the resource kind as written in the config.
func (r *Resource) Kind() string { return "overlay-route" }

// route is one (table, prefix) pair and where it points now.
type route struct {
	table  string
	prefix netip.Prefix
	target string // ENI id, or "" when missing; "blackhole" and other targets as their id
	exists bool
}

// describe reads the configured tables and returns every (table, prefix)
// pair with its current target: one DescribeRouteTables for all of them.
func (r *Resource) describe(ctx context.Context, self resource.Self) ([]route, error) {
	in := &ec2.DescribeRouteTablesInput{}
	switch rt := r.cfg.RouteTables; {
	case rt.All:
		in.Filters = []types.Filter{{Name: aws.String("vpc-id"), Values: []string{self.VPCID}}}
	case rt.Tags != nil:
		// Found again on every read: a table tagged later is covered at
		// the next reconcile, one that lost its tag is no longer written.
		in.Filters = append([]types.Filter{{Name: aws.String("vpc-id"), Values: []string{self.VPCID}}}, resource.TagFilters(rt.Tags)...)
	default:
		in.RouteTableIds = rt.IDs
	}
	var tables []types.RouteTable
	p := ec2.NewDescribeRouteTablesPaginator(r.ec2, in)
	for p.HasMorePages() {
		cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
		out, err := p.NextPage(cctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("describe route tables: %w", err)
		}
		tables = append(tables, out.RouteTables...)
	}
	if len(tables) == 0 {
		if tags := r.cfg.RouteTables.Tags; tags != nil {
			return nil, fmt.Errorf("describe route tables: no route table of %s has the tags %s", self.VPCID, config.TagsString(tags))
		}
		return nil, fmt.Errorf("describe route tables: no route table found in %s", self.VPCID)
	}
	r.routes.Store(int64(len(tables) * len(r.prefixes)))
	var routes []route
	for _, t := range tables {
		id := aws.ToString(t.RouteTableId)
		for _, pfx := range r.prefixes {
			rt := route{table: id, prefix: pfx}
			for _, have := range t.Routes {
				if !sameDestination(have, pfx) {
					continue
				}
				rt.exists = true
				rt.target = routeTarget(have)
			}
			routes = append(routes, rt)
		}
	}
	return routes, nil
}

// sameDestination reports whether r routes exactly p. EC2 answers an IPv6
// route's destination in DestinationIpv6CidrBlock (and takes it in the
// parameter of that name), an IPv4 one in DestinationCidrBlock; blocks
// are compared parsed, so a table's spelling of an IPv6 block need not be
// ours.
func sameDestination(r types.Route, p netip.Prefix) bool {
	d := r.DestinationCidrBlock
	if p.Addr().Is6() {
		d = r.DestinationIpv6CidrBlock
	}
	have, err := netip.ParsePrefix(aws.ToString(d))
	return err == nil && have == p
}

// destination returns the CreateRoute/ReplaceRoute/DeleteRoute
// destination parameters for p: one of the IPv4 and IPv6 fields.
func destination(p netip.Prefix) (v4, v6 *string) {
	if p.Addr().Is6() {
		return nil, aws.String(p.String())
	}
	return aws.String(p.String()), nil
}

func routeTarget(r types.Route) string {
	switch {
	case r.State == types.RouteStateBlackhole:
		return "blackhole"
	case r.NetworkInterfaceId != nil:
		return *r.NetworkInterfaceId
	case r.InstanceId != nil:
		return *r.InstanceId
	case r.GatewayId != nil:
		return *r.GatewayId
	}
	return "unknown"
}

// StepTimeout is the budget of one acquire: a write EC2 throttles waits its
// turn (awsapi's retryer) rather than failing, and when an Availability
// Zone fails every cluster of the account queues for the same bucket of
// mutating calls, refilled at 5 a second ("Request throttling for the
// Amazon EC2 API"). A minute covers some 300 other writes queued ahead,
// plus this resource's own routes at that rate; the fencing grant bounds
// every write whatever the budget.
func (r *Resource) StepTimeout() time.Duration {
	routes := max(r.routes.Load(), int64(len(r.prefixes)*max(len(r.cfg.RouteTables.IDs), 1)))
	return time.Minute + time.Duration(routes)*time.Second/5
}

// Check reports whether every route points at self's ENI.
func (r *Resource) Check(ctx context.Context, self resource.Self) (resource.Status, error) {
	routes, err := r.describe(ctx, self)
	if err != nil {
		return resource.Status{}, err
	}
	return r.status(routes, self), nil
}

func (r *Resource) status(routes []route, self resource.Self) resource.Status {
	st := resource.Status{InSync: true}
	for _, rt := range routes {
		switch {
		case !rt.exists:
			st.Drift = append(st.Drift, fmt.Sprintf("%s %s: missing", rt.table, rt.prefix))
		case rt.target != self.ENIID:
			st.Drift = append(st.Drift, fmt.Sprintf("%s %s: via %s, want %s", rt.table, rt.prefix, rt.target, self.ENIID))
			st.Contested = st.Contested || strings.HasPrefix(rt.target, "eni-") || strings.HasPrefix(rt.target, "i-")
		}
	}
	st.InSync = len(st.Drift) == 0
	return st
}

// Prepare turns the source/dest check of self off, if configured, so that
// a failover does not spend an EC2 write on it (overlay-IP failover
// scripts turn it off once on both nodes). It is not fenced: it changes only this instance and
// no other node writes it. Acquire does it if Prepare did not succeed.
func (r *Resource) Prepare(ctx context.Context, self resource.Self) error {
	if !r.cfg.DisableSourceDestCheck || r.srcDstOff.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
	defer cancel()
	if err := r.disableSourceDestCheck(ctx, self); err != nil {
		return fmt.Errorf("disable source/dest check on %s: %w", self.InstanceID, err)
	}
	return nil
}

func (r *Resource) disableSourceDestCheck(ctx context.Context, self resource.Self) error {
	_, err := r.ec2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId:      aws.String(self.InstanceID),
		SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)},
	})
	if err == nil {
		r.srcDstOff.Store(true)
	}
	return err
}

// Acquire points every route at self's ENI. It is idempotent: routes already
// right are not written.
func (r *Resource) Acquire(ctx context.Context, self resource.Self, tok fence.Token) error {
	if r.cfg.DisableSourceDestCheck && !r.srcDstOff.Load() {
		err := resource.Write(ctx, tok, "disable source/dest check on "+self.InstanceID, func(ctx context.Context) error {
			return r.disableSourceDestCheck(ctx, self)
		})
		if err != nil {
			return err
		}
	}
	routes, err := r.describe(ctx, self)
	if err != nil {
		return err
	}
	var wrong []route
	for _, rt := range routes {
		if !rt.exists || rt.target != self.ENIID {
			wrong = append(wrong, rt)
		}
	}
	pace := newPacer(len(routes), len(routes)-len(wrong), !resource.Gated(ctx), time.Now)
	var writes []func(context.Context) error
	for i, rt := range wrong {
		p := pace.later
		if i == 0 {
			p = pace.first
		}
		writes = append(writes, func(ctx context.Context) error {
			if i > 0 && !pace.before(ctx) {
				return ctx.Err()
			}
			err := r.point(ctx, self, tok, rt, option(p))
			if err == nil {
				pace.have.Add(1)
			}
			return err
		})
	}
	// One write first, then the rest in parallel: when an Availability
	// Zone fails and every cluster of the account writes at once, EC2's
	// burst (50 mutating calls) then goes one route to each cluster rather
	// than all of its routes to the first few, and the others queue for
	// the refill (5 a second) on equal terms (bench/RESULTS.md, the
	// storm). Alone, it costs one write's latency. Throttled, the first
	// write asks again eagerly and the rest yield to other clusters'
	// first writes (pace.go). Under a controller
	// that serves many clusters the rest are marked Later: its write
	// gate lets every moving cluster's first route go before them.
	if len(writes) > 0 {
		err := writes[0](ctx)
		if err = errors.Join(err, resource.Parallel(resource.Later(ctx), r.opts.Parallel, writes[1:])); err != nil {
			return err
		}
	}
	return r.verify(ctx, self)
}

// point makes one route target self's ENI: ReplaceRoute when it exists,
// CreateRoute when missing, and the other one when the table changed under
// us in between (another writer, or EC2's eventual consistency). opts
// apply to both calls (the acquire's pace).
func (r *Resource) point(ctx context.Context, self resource.Self, tok fence.Token, rt route, opts ...func(*ec2.Options)) error {
	v4, v6 := destination(rt.prefix)
	replace := func(ctx context.Context) error {
		_, err := r.ec2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{
			RouteTableId:             aws.String(rt.table),
			DestinationCidrBlock:     v4,
			DestinationIpv6CidrBlock: v6,
			NetworkInterfaceId:       aws.String(self.ENIID),
		}, opts...)
		return err
	}
	create := func(ctx context.Context) error {
		_, err := r.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{
			RouteTableId:             aws.String(rt.table),
			DestinationCidrBlock:     v4,
			DestinationIpv6CidrBlock: v6,
			NetworkInterfaceId:       aws.String(self.ENIID),
		}, opts...)
		return err
	}
	first, second := replace, create
	firstName, secondName := "replace", "create"
	if !rt.exists {
		first, second = create, replace
		firstName, secondName = "create", "replace"
	}
	what := fmt.Sprintf("%s route %s in %s", firstName, rt.prefix, rt.table)
	err := resource.Write(ctx, tok, what, first)
	if awsapi.IsCode(err, awsapi.CodeRouteNotFound) || awsapi.IsCode(err, awsapi.CodeRouteAlreadyExists) {
		what = fmt.Sprintf("%s route %s in %s", secondName, rt.prefix, rt.table)
		err = resource.Write(ctx, tok, what, second)
	}
	if err == nil {
		r.log.Debug("route written", "route_table_id", rt.table, "vip", rt.prefix.String(), "eni_id", self.ENIID, "token", tok.N(), "op", what)
	}
	return err
}

// verify reads back until every route points at self, riding out EC2's
// eventual consistency with short pauses, within ctx.
func (r *Resource) verify(ctx context.Context, self resource.Self) error {
	return resource.Verify(ctx, func(ctx context.Context) (resource.Status, error) { return r.Check(ctx, self) })
}

// Release deletes the routes that still point at self when DeleteOnRelease
// is set; otherwise it leaves them for the next owner to replace.
func (r *Resource) Release(ctx context.Context, self resource.Self, tok fence.Token) error {
	if !r.cfg.DeleteOnRelease {
		return nil
	}
	routes, err := r.describe(ctx, self)
	if err != nil {
		return err
	}
	var dels []func(context.Context) error
	for _, rt := range routes {
		if !rt.exists || rt.target != self.ENIID {
			continue
		}
		dels = append(dels, func(ctx context.Context) error {
			what := fmt.Sprintf("delete route %s in %s", rt.prefix, rt.table)
			v4, v6 := destination(rt.prefix)
			err := resource.Write(ctx, tok, what, func(ctx context.Context) error {
				_, err := r.ec2.DeleteRoute(ctx, &ec2.DeleteRouteInput{
					RouteTableId:             aws.String(rt.table),
					DestinationCidrBlock:     v4,
					DestinationIpv6CidrBlock: v6,
				})
				return err
			})
			if awsapi.IsCode(err, awsapi.CodeRouteNotFound) {
				return nil
			}
			return err
		})
	}
	return resource.Parallel(ctx, r.opts.Parallel, dels)
}
