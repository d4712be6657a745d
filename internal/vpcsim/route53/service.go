package route53

import (
	"crypto/rand"
	"log/slog"
	"sync"
	"time"
)

// AWSPropagationDelay is how long AWS documents a change may take to reach
// all Route 53 name servers ("generally ... within 60 seconds",
// ChangeResourceRecordSets API reference). Use it for realistic runs; tests
// use 0 and the demo a few seconds.
const AWSPropagationDelay = 60 * time.Second

// DemoPropagationDelay is short enough for `vipd demo` to show DNS
// converging after the routes have moved, yet long enough to be seen; a
// published DNS failover write-up observed about 20 s on AWS.
const DemoPropagationDelay = 3 * time.Second

// AWSRequestsPerSecond is Route 53's documented API limit: five requests per
// second per AWS account, beyond which it answers Throttling.
const AWSRequestsPerSecond = 5

// Options tunes a Service. The zero value gives an unthrottled service whose
// changes are INSYNC at once.
type Options struct {
	// PropagationDelay is how long a change stays PENDING; 0 makes it INSYNC
	// on the first GetChange after it was submitted.
	PropagationDelay time.Duration
	// RequestsPerSecond enables the account-wide token bucket (burst of the
	// same size) that answers Throttling; 0 disables it. AWS's figure is
	// AWSRequestsPerSecond.
	RequestsPerSecond float64
	// RejectWhilePending answers PriorRequestNotComplete to a change for a
	// zone whose previous change is still PENDING, which AWS does when
	// changes to a zone arrive faster than it applies them.
	RejectWhilePending bool
	// VPCExists, when set, is asked whether a private zone's VPC exists in
	// the region; a false answer gives InvalidVPCId.
	VPCExists func(region, vpcID string) bool
	// AccountID owns the zones (ListHostedZonesByVPC's Owner).
	AccountID string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives one debug line per call; default discards.
	Logger *slog.Logger
}

// Service is the simulated Route 53 of one AWS account. All methods are safe
// for concurrent use; state lives behind one mutex that is never held across
// I/O.
type Service struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	zones   []*zone // in creation order
	byID    map[string]*zone
	callers map[string]string // caller reference → zone ID
	changes map[string]*change
	// deletions are DeleteHostedZone changes, PENDING for the propagation
	// delay like any other.
	deletions []*change
	bucket    bucket
	// Health checks by ID, in creation order, and by caller reference
	// (deleted ones too); tags by "hostedzone/ID" or "healthcheck/ID"
	// (healthchecks.go, tags.go).
	checks     map[string]*healthCheck
	checkOrder []*healthCheck
	checkRefs  map[string]*healthCheck
	tags       map[string]map[string]string
}

// New returns a Service with no hosted zones.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		opts:    opts,
		log:     opts.Logger.With("component", "route53"),
		byID:    map[string]*zone{},
		callers: map[string]string{},
		changes: map[string]*change{},
	}
	if opts.RequestsPerSecond > 0 {
		s.bucket = bucket{rate: opts.RequestsPerSecond, burst: opts.RequestsPerSecond, tokens: opts.RequestsPerSecond, last: opts.Now()}
	}
	return s
}

// bucket is a token bucket; a zero rate means unlimited.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *bucket) take(now time.Time) bool {
	if b.rate == 0 {
		return true
	}
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// zone is a hosted zone. records is what the API shows (changes apply at
// once); served is what DNS answers, which lags until changes are INSYNC.
type zone struct {
	id, name, callerRef, comment string
	private                      bool
	vpcs                         []wireVPC // private zones: at least one
	nameServers                  []string
	records                      map[rrKey]*rrset
	served                       map[rrKey]*rrset
	pending                      []*change // FIFO, not yet applied to served
}

// rrKey names a record set: its name, type and, for a routing policy
// other than simple, its SetIdentifier ("" for simple routing).
type rrKey struct{ name, typ, id string }

// rrset is one resource record set. Values are in presentation format, as
// in the API.
type rrset struct {
	name, typ string
	ttl       int64
	values    []string
	// healthCheck is the set's HealthCheckId, "" without one.
	healthCheck string
	// routing is the set's routing policy and identifier (routing.go);
	// alias, when set, replaces ttl and values.
	routing routing
	alias   *wireAlias
}

func (r *rrset) key() rrKey { return rrKey{r.name, r.typ, r.routing.id} }

func (r *rrset) clone() *rrset {
	c := *r
	c.values = append([]string(nil), r.values...)
	return &c
}

// change is one accepted ChangeResourceRecordSets batch.
type change struct {
	id        string
	comment   string
	submitted time.Time
	insyncAt  time.Time
	zone      *zone
	ops       []op
	insync    bool
}

type op struct {
	action string
	set    *rrset
}

// advanceLocked applies to each zone's DNS view the changes whose
// propagation delay has passed, in submission order, and marks them INSYNC.
func (s *Service) advanceLocked(now time.Time) {
	for len(s.deletions) > 0 && !now.Before(s.deletions[0].insyncAt) {
		s.deletions[0].insync = true
		s.deletions = s.deletions[1:]
	}
	for _, z := range s.zones {
		for len(z.pending) > 0 && !now.Before(z.pending[0].insyncAt) {
			c := z.pending[0]
			z.pending = z.pending[1:]
			applyOps(z.served, c.ops)
			c.insync = true
		}
	}
}

// applyOps applies validated operations to a record map.
func applyOps(m map[rrKey]*rrset, ops []op) {
	for _, o := range ops {
		k := o.set.key()
		switch o.action {
		case "DELETE":
			delete(m, k)
		default:
			m[k] = o.set.clone()
		}
	}
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newID returns prefix and 20 characters in the shape of Route 53 IDs
// (Z0123456789ABCDEFGHIJ).
func newID(prefix string) string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return prefix + string(b)
}
