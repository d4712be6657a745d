package dynamodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/vipd/vipd/internal/election"
)

// API is the part of DynamoDB the lease calls; *dynamodb.Client fits.
type API interface {
	GetItem(ctx context.Context, in *awsddb.GetItemInput, optFns ...func(*awsddb.Options)) (*awsddb.GetItemOutput, error)
	PutItem(ctx context.Context, in *awsddb.PutItemInput, optFns ...func(*awsddb.Options)) (*awsddb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *awsddb.UpdateItemInput, optFns ...func(*awsddb.Options)) (*awsddb.UpdateItemOutput, error)
}

// Config configures one member's lease.
type Config struct {
	// Self is this member's name, written as the owner.
	Self string
	// Table is the DynamoDB table; its hash key is a string attribute
	// named KeyAttribute.
	Table string
	// KeyAttribute is the table's hash key attribute (default "id").
	KeyAttribute string
	// Key is the lease item's key value, e.g. the cluster name.
	Key string
	// Lease is how long a grant lasts without renewal; a dead holder is
	// replaced after about Lease + Renew. Default 10s.
	Lease time.Duration
	// Renew is the period of renewals while holding and of reads while
	// waiting. Default Lease/4.
	Renew time.Duration
	// Margin is the fraction of Lease a renewal keeps the grant valid for,
	// counted from the renewal's start (0 < Margin < 1). Default 0.75.
	Margin float64
	// CallTimeout bounds each DynamoDB call. Default Renew, at most 2s.
	CallTimeout time.Duration
}

func (c *Config) defaults() error {
	if c.Self == "" || c.Table == "" || c.Key == "" {
		return fmt.Errorf("dynamodb lease: self %q, table %q and key %q must all be set", c.Self, c.Table, c.Key)
	}
	if c.KeyAttribute == "" {
		c.KeyAttribute = "id"
	}
	if c.Lease == 0 {
		c.Lease = 10 * time.Second
	}
	if c.Renew == 0 {
		c.Renew = c.Lease / 4
	}
	if c.Margin == 0 {
		c.Margin = 0.75
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = min(c.Renew, 2*time.Second)
	}
	if c.Lease <= 0 || c.Renew <= 0 || c.Renew >= c.Lease || c.Margin <= 0 || c.Margin >= 1 {
		return fmt.Errorf("dynamodb lease: lease %s, renew %s, margin %g: want renew below lease and 0 < margin < 1", c.Lease, c.Renew, c.Margin)
	}
	return nil
}

// Attribute names of the lease item.
const (
	attrOwner   = "owner"
	attrToken   = "token"
	attrRVN     = "rvn"
	attrLeaseMS = "lease_ms"
)

// Lease is one member's view of the DynamoDB lease. Run owns the loop; the
// other methods are safe for concurrent use and never block on I/O.
type Lease struct {
	cfg     Config
	api     API
	log     *slog.Logger
	changes chan struct{}
	poke    chan struct{} // eligibility or a transfer changed
	started atomic.Bool

	desireMu  sync.Mutex
	eligible  bool      // guarded by desireMu
	yieldTill time.Time // guarded by desireMu: do not take before this

	mu  sync.Mutex
	st  election.Status // guarded by mu
	pub chan struct{}   // guarded by mu: closed at the next change
}

var _ election.Lease = (*Lease)(nil)

// New returns a member that is eligible until SetEligible says otherwise;
// nothing is read or written before Run.
func New(cfg Config, api API, log *slog.Logger) (*Lease, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lease{
		cfg:      cfg,
		api:      api,
		log:      log.With("component", "lease-dynamodb"),
		changes:  make(chan struct{}, 1),
		poke:     make(chan struct{}, 1),
		eligible: true,
		st:       election.Status{Self: cfg.Self},
		pub:      make(chan struct{}),
	}, nil
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Status returns this member's current view; Held turns false as soon as
// ValidUntil passes, even before the loop notices.
func (l *Lease) Status() election.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	if st.Held && !time.Now().Before(st.ValidUntil) {
		st.Held = false
	}
	return st
}

// Changes is signalled whenever Status may have changed, renewals included.
func (l *Lease) Changes() <-chan struct{} { return l.changes }

// Valid answers fence.Validity for this member's grants.
func (l *Lease) Valid(token uint64) (time.Time, bool) {
	st := l.Status()
	if !st.Held || token == 0 || st.Token != token {
		return time.Time{}, false
	}
	return st.ValidUntil, true
}

func (l *Lease) publish(st election.Status) {
	l.mu.Lock()
	same := l.st.Holder == st.Holder && l.st.Token == st.Token && l.st.Held == st.Held &&
		l.st.ValidUntil.Equal(st.ValidUntil) && l.st.Quorum == st.Quorum
	l.st = st
	if !same {
		close(l.pub)
		l.pub = make(chan struct{})
	}
	l.mu.Unlock()
	if !same {
		signal(l.changes)
	}
}

func (l *Lease) published() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pub
}

// SetEligible says whether this member may hold. A holder that becomes
// ineligible stops acting at once and releases the item; priority is
// ignored (a DynamoDB lease has no preference order: the first eligible
// member to find the item free or expired takes it).
func (l *Lease) SetEligible(ctx context.Context, eligible bool, priority int) error {
	l.desireMu.Lock()
	l.eligible = eligible
	l.desireMu.Unlock()
	if !eligible {
		l.stopActing()
	}
	signal(l.poke)
	return nil
}

// stopActing makes Valid answer false before the loop releases the item.
func (l *Lease) stopActing() {
	l.mu.Lock()
	held := l.st.Held
	l.st.Held = false
	if held {
		close(l.pub)
		l.pub = make(chan struct{})
	}
	l.mu.Unlock()
	if held {
		signal(l.changes)
	}
}

// Transfer releases this member's grant and keeps it from taking the lease
// again for one lease, so that another member takes it; it returns once
// another holder is seen or ctx is done. to is not honoured beyond that:
// whichever other member reads the item first takes it.
func (l *Lease) Transfer(ctx context.Context, to string) error {
	if to == l.cfg.Self {
		return nil
	}
	if !l.Status().Held {
		return fmt.Errorf("transfer to %q: %w", to, election.ErrNotHolder)
	}
	l.desireMu.Lock()
	l.yieldTill = time.Now().Add(l.cfg.Lease)
	l.desireMu.Unlock()
	l.stopActing()
	signal(l.poke)
	for {
		pub := l.published()
		if st := l.Status(); st.Holder != "" && st.Holder != l.cfg.Self {
			return nil
		}
		select {
		case <-pub:
		case <-ctx.Done():
			return fmt.Errorf("transfer to %q: %w", to, ctx.Err())
		}
	}
}

func (l *Lease) mayTake() bool {
	l.desireMu.Lock()
	defer l.desireMu.Unlock()
	return l.eligible && !time.Now().Before(l.yieldTill)
}

// item is the lease item as read.
type item struct {
	exists bool
	owner  string
	token  uint64
	rvn    string
	lease  time.Duration
}

func newRVN() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func (l *Lease) key() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{l.cfg.KeyAttribute: &types.AttributeValueMemberS{Value: l.cfg.Key}}
}

func parseItem(m map[string]types.AttributeValue) (item, error) {
	if m == nil {
		return item{}, nil
	}
	it := item{exists: true}
	if v, ok := m[attrOwner].(*types.AttributeValueMemberS); ok {
		it.owner = v.Value
	}
	if v, ok := m[attrRVN].(*types.AttributeValueMemberS); ok {
		it.rvn = v.Value
	}
	if v, ok := m[attrToken].(*types.AttributeValueMemberN); ok {
		n, err := strconv.ParseUint(v.Value, 10, 64)
		if err != nil {
			return it, fmt.Errorf("parse lease item token %q: %w", v.Value, err)
		}
		it.token = n
	}
	if v, ok := m[attrLeaseMS].(*types.AttributeValueMemberN); ok {
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return it, fmt.Errorf("parse lease item lease_ms %q: %w", v.Value, err)
		}
		it.lease = time.Duration(n) * time.Millisecond
	}
	return it, nil
}

// IsConditionFailed reports whether err is DynamoDB's
// ConditionalCheckFailedException: another member wrote first.
func IsConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf)
}

func (l *Lease) read(ctx context.Context) (item, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	defer cancel()
	out, err := l.api.GetItem(ctx, &awsddb.GetItemInput{
		TableName:      aws.String(l.cfg.Table),
		Key:            l.key(),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return item{}, fmt.Errorf("read lease item %s in %s: %w", l.cfg.Key, l.cfg.Table, err)
	}
	return parseItem(out.Item)
}

// create writes the item with token 1 if it does not exist.
func (l *Lease) create(ctx context.Context, rvn string) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	defer cancel()
	it := l.key()
	it[attrOwner] = &types.AttributeValueMemberS{Value: l.cfg.Self}
	it[attrToken] = &types.AttributeValueMemberN{Value: "1"}
	it[attrRVN] = &types.AttributeValueMemberS{Value: rvn}
	it[attrLeaseMS] = &types.AttributeValueMemberN{Value: strconv.FormatInt(l.cfg.Lease.Milliseconds(), 10)}
	_, err := l.api.PutItem(ctx, &awsddb.PutItemInput{
		TableName:                aws.String(l.cfg.Table),
		Item:                     it,
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": l.cfg.KeyAttribute},
	})
	if err != nil {
		return fmt.Errorf("create lease item %s: %w", l.cfg.Key, err)
	}
	return nil
}

// take grants the lease to self if the item still has rvn seen: owner self,
// token bumped, a new rvn. It returns the new token.
func (l *Lease) take(ctx context.Context, seen, rvn string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	defer cancel()
	out, err := l.api.UpdateItem(ctx, &awsddb.UpdateItemInput{
		TableName:           aws.String(l.cfg.Table),
		Key:                 l.key(),
		UpdateExpression:    aws.String("SET #owner = :me, #token = #token + :one, #rvn = :new, #lease = :lease"),
		ConditionExpression: aws.String("#rvn = :seen"),
		ExpressionAttributeNames: map[string]string{
			"#owner": attrOwner, "#token": attrToken, "#rvn": attrRVN, "#lease": attrLeaseMS,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":me":    &types.AttributeValueMemberS{Value: l.cfg.Self},
			":one":   &types.AttributeValueMemberN{Value: "1"},
			":new":   &types.AttributeValueMemberS{Value: rvn},
			":seen":  &types.AttributeValueMemberS{Value: seen},
			":lease": &types.AttributeValueMemberN{Value: strconv.FormatInt(l.cfg.Lease.Milliseconds(), 10)},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("take lease item %s: %w", l.cfg.Key, err)
	}
	it, err := parseItem(out.Attributes)
	if err != nil {
		return 0, err
	}
	if it.token == 0 {
		return 0, fmt.Errorf("take lease item %s: no token in the answer", l.cfg.Key)
	}
	return it.token, nil
}

// rewrite replaces rvn (renewal) or also clears the owner (release), if the
// item is still ours at rvn mine or, after a renewal whose outcome is
// unknown (a timeout), at that renewal's rvn pending.
func (l *Lease) rewrite(ctx context.Context, mine, pending, rvn string, release bool) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	defer cancel()
	update := "SET #rvn = :new"
	owner := l.cfg.Self
	if release {
		update = "SET #rvn = :new, #owner = :none"
	}
	values := map[string]types.AttributeValue{
		":new":  &types.AttributeValueMemberS{Value: rvn},
		":mine": &types.AttributeValueMemberS{Value: mine},
		":me":   &types.AttributeValueMemberS{Value: owner},
	}
	cond := "#rvn = :mine AND #owner = :me"
	if pending != "" {
		cond = "(#rvn = :mine OR #rvn = :pending) AND #owner = :me"
		values[":pending"] = &types.AttributeValueMemberS{Value: pending}
	}
	if release {
		values[":none"] = &types.AttributeValueMemberS{Value: ""}
	}
	_, err := l.api.UpdateItem(ctx, &awsddb.UpdateItemInput{
		TableName:                 aws.String(l.cfg.Table),
		Key:                       l.key(),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#owner": attrOwner, "#rvn": attrRVN},
		ExpressionAttributeValues: values,
	})
	if err != nil {
		op := "renew"
		if release {
			op = "release"
		}
		return fmt.Errorf("%s lease item %s: %w", op, l.cfg.Key, err)
	}
	return nil
}

// loop state, owned by Run's goroutine.
type loop struct {
	held     bool
	token    uint64
	rvn      string    // ours while held
	pending  string    // while held: the rvn of a renewal whose outcome is unknown
	takeRVN  string    // while waiting: the rvn of a take whose outcome is unknown
	takeAt   time.Time // and when that take started
	until    time.Time // validity while held
	seenRVN  string    // while waiting: the rvn last read
	seenAt   time.Time // when seenRVN was first read
	seenOf   string    // its owner
	seenTok  uint64
	seenTTL  time.Duration
	contact  bool
	lastWarn time.Time
}

// Run takes part in the election until ctx is done; a holder then stops
// acting and releases the item (bounded by CallTimeout) before Run returns.
// Run may be called once.
func (l *Lease) Run(ctx context.Context) error {
	if !l.started.CompareAndSwap(false, true) {
		return errors.New("dynamodb lease: already running")
	}
	var s loop
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if s.held {
				l.stopActing()
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.CallTimeout)
				err := l.rewrite(rctx, s.rvn, s.pending, newRVN(), true)
				cancel()
				if err != nil {
					l.log.Warn("lease not released at stop", "token", s.token, "err", err)
				} else {
					l.log.Info("lease released", "token", s.token, "reason", "stop")
				}
			}
			l.publish(election.Status{Self: l.cfg.Self})
			return nil
		case <-timer.C:
		case <-l.poke:
		}
		l.step(ctx, &s)
		next := l.cfg.Renew
		if s.held {
			// Wake at the validity's end too, so Changes reports a lapse.
			next = min(next, max(time.Until(s.until), time.Millisecond))
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

// step does one round: renew while holding, otherwise read and maybe take.
func (l *Lease) step(ctx context.Context, s *loop) {
	defer l.publishLoop(s)
	if s.held {
		if !time.Now().Before(s.until) || !l.mayTake() {
			// Lapsed without a renewal, or told to stop: never renew a
			// grant that may already have been taken over.
			l.stopActing()
			if time.Now().Before(s.until) {
				err := l.rewrite(ctx, s.rvn, s.pending, newRVN(), true)
				l.noteErr(s, err)
				if err == nil {
					l.log.Info("lease released", "token", s.token, "reason", "ineligible")
				}
			} else {
				l.log.Warn("lease lapsed", "token", s.token, "reason", "no renewal within the lease")
			}
			s.held = false
			s.seenRVN = ""
			return
		}
		start := time.Now()
		rvn := newRVN()
		err := l.rewrite(ctx, s.rvn, s.pending, rvn, false)
		l.noteErr(s, err)
		switch {
		case err == nil:
			s.rvn, s.pending = rvn, ""
			s.until = start.Add(time.Duration(float64(l.cfg.Lease) * l.cfg.Margin))
		case IsConditionFailed(err):
			l.stopActing()
			l.log.Warn("lease lost", "token", s.token, "reason", "item changed by another member")
			s.held = false
			s.seenRVN = ""
		default:
			// The write may have landed: accept either rvn next time.
			// The older pending one can no longer be current.
			s.pending = rvn
		}
		return
	}
	start := time.Now()
	it, err := l.read(ctx)
	l.noteErr(s, err)
	if err != nil {
		return
	}
	if !it.exists {
		s.seenRVN, s.seenOf, s.seenTok = "", "", 0
		if !l.mayTake() {
			return
		}
		rvn := newRVN()
		start = time.Now()
		err := l.create(ctx, rvn)
		l.noteErr(s, err)
		if err != nil && !IsConditionFailed(err) {
			s.takeRVN, s.takeAt = rvn, start
		}
		if err == nil {
			l.granted(s, 1, rvn, start)
		}
		return
	}
	if s.takeRVN != "" && it.owner == l.cfg.Self && it.rvn == s.takeRVN {
		// A take whose answer was lost did succeed; its grant runs from
		// the take's start.
		l.granted(s, it.token, it.rvn, s.takeAt)
		return
	}
	s.takeRVN = ""
	if it.rvn != s.seenRVN {
		s.seenRVN, s.seenAt = it.rvn, start
	}
	s.seenOf, s.seenTok, s.seenTTL = it.owner, it.token, max(it.lease, l.cfg.Lease)
	if !l.mayTake() {
		return
	}
	// A released item is free at once; a held one once its rvn stayed
	// unchanged for the holder's whole lease on our clock.
	if it.owner != "" && time.Since(s.seenAt) < s.seenTTL {
		return
	}
	rvn := newRVN()
	start = time.Now()
	tok, err := l.take(ctx, it.rvn, rvn)
	l.noteErr(s, err)
	if err != nil && !IsConditionFailed(err) {
		s.takeRVN, s.takeAt = rvn, start
	}
	if err == nil {
		if it.owner != "" {
			l.log.Info("lease taken over", "from", it.owner, "token", tok, "reason", "holder silent for a lease")
		}
		l.granted(s, tok, rvn, start)
	}
}

func (l *Lease) granted(s *loop, tok uint64, rvn string, start time.Time) {
	s.held, s.token, s.rvn, s.pending, s.takeRVN = true, tok, rvn, "", ""
	s.until = start.Add(time.Duration(float64(l.cfg.Lease) * l.cfg.Margin))
	s.seenRVN, s.seenOf, s.seenTok = "", l.cfg.Self, tok
	l.log.Info("lease granted", "token", tok)
}

// noteErr records contact with DynamoDB; a condition failure is contact.
func (l *Lease) noteErr(s *loop, err error) {
	switch {
	case err == nil || IsConditionFailed(err):
		s.contact = true
	case errors.Is(err, context.Canceled):
	default:
		s.contact = false
		if time.Since(s.lastWarn) > l.cfg.Lease {
			s.lastWarn = time.Now()
			l.log.Warn("lease call failed", "err", err)
		}
	}
}

func (l *Lease) publishLoop(s *loop) {
	st := election.Status{Self: l.cfg.Self, Quorum: s.contact}
	if s.held {
		st.Holder, st.Token, st.Held, st.ValidUntil = l.cfg.Self, s.token, true, s.until
	} else {
		st.Holder, st.Token = s.seenOf, s.seenTok
	}
	if st.Held && (!time.Now().Before(st.ValidUntil) || !l.mayTake()) {
		st.Held = false
	}
	l.publish(st)
}
