package dynamodb_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.uber.org/goleak"

	"github.com/vipd/vipd/internal/election"
	"github.com/vipd/vipd/internal/election/dynamodb"
	simddb "github.com/vipd/vipd/internal/vpcsim/dynamodb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	table = "vipd-leases"
	lease = 400 * time.Millisecond
	renew = 80 * time.Millisecond
)

// gate fronts the simulated DynamoDB for one member; while closed, that
// member's requests hang until their own deadline, as when the member is
// paused or cut off.
type gate struct {
	next http.Handler
	mu   sync.Mutex
	shut chan struct{} // non-nil while closed
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	shut := g.shut
	g.mu.Unlock()
	if shut != nil {
		select {
		case <-shut:
		case <-r.Context().Done():
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

func (g *gate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut == nil {
		g.shut = make(chan struct{})
	}
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.shut != nil {
		close(g.shut)
		g.shut = nil
	}
}

type fixture struct {
	t   *testing.T
	svc *simddb.Service
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, svc: simddb.New(simddb.Options{})}
	c := f.client(f.svc.Handler())
	_, err := c.CreateTable(t.Context(), &awsddb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) client(h http.Handler) *awsddb.Client {
	srv := httptest.NewServer(h)
	f.t.Cleanup(srv.Close)
	return awsddb.New(awsddb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("x", "x", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
}

// member is one running lease with its gate.
type member struct {
	*dynamodb.Lease
	gate *gate
	stop context.CancelFunc
	done chan struct{}
}

func (f *fixture) start(name string) *member { return f.startLease(name, lease) }

func (f *fixture) startLease(name string, lease time.Duration) *member {
	g := &gate{next: f.svc.Handler()}
	l, err := dynamodb.New(dynamodb.Config{Self: name, Table: table, Key: "cluster", Lease: lease, Renew: renew},
		f.client(g), slog.New(slog.NewTextHandler(f.t.Output(), nil)).With("node", name))
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.t.Context())
	m := &member{Lease: l, gate: g, stop: cancel, done: make(chan struct{})}
	go func() { defer close(m.done); _ = l.Run(ctx) }()
	f.t.Cleanup(func() { g.open(); m.halt() })
	return m
}

func (m *member) halt() { m.stop(); <-m.done }

// waitHeld waits until m holds and returns its status.
func waitHeld(t *testing.T, m *member, within time.Duration) election.Status {
	t.Helper()
	deadline := time.After(within)
	for {
		if st := m.Status(); st.Held {
			return st
		}
		select {
		case <-m.Changes():
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s does not hold after %s: %+v", m.Status().Self, within, m.Status())
		}
	}
}

func TestGrantAndRenew(t *testing.T) {
	f := newFixture(t)
	a := f.start("a")
	st := waitHeld(t, a, 2*time.Second)
	if st.Token != 1 || st.Holder != "a" || !st.Quorum {
		t.Errorf("first grant: %+v, want token 1 held by a with contact", st)
	}
	first := st.ValidUntil
	if until, ok := a.Valid(1); !ok || !until.Equal(first) {
		t.Errorf("Valid(1) = %v, %v; want %v, true", until, ok, first)
	}
	if _, ok := a.Valid(2); ok {
		t.Error("Valid(2) is true for a token never granted")
	}
	// Renewals move the validity forward and keep the token.
	deadline := time.Now().Add(2 * time.Second)
	for a.Status().ValidUntil.Sub(first) < 3*renew {
		if time.Now().After(deadline) {
			t.Fatalf("validity did not advance: first %v, now %+v", first, a.Status())
		}
		<-a.Changes()
	}
	if st := a.Status(); st.Token != 1 || !st.Held {
		t.Errorf("after renewals: %+v, want token 1 still held", st)
	}
	// The validity is at most lease × margin ahead.
	if left := time.Until(a.Status().ValidUntil); left > lease {
		t.Errorf("valid for %s, more than a lease", left)
	}
}

func TestTakeoverAfterSilenceStopsHolderFirst(t *testing.T) {
	f := newFixture(t)
	a := f.start("a")
	waitHeld(t, a, 2*time.Second)
	b := f.start("b")
	// b sees a renewing and must not take over while a is alive.
	quiet := time.After(3 * lease)
	for waiting := true; waiting; {
		select {
		case <-quiet:
			waiting = false
		case <-time.After(5 * time.Millisecond):
			if b.Status().Held {
				t.Fatalf("b holds while a renews: %+v", b.Status())
			}
		}
	}
	if st := b.Status(); st.Holder != "a" || st.Token != 1 {
		t.Errorf("b sees %+v, want holder a token 1", st)
	}
	// Pause a: its calls hang. Record a's last validity and the moment b
	// is granted, both on this process's monotonic clock.
	a.gate.close()
	var aUntil time.Time
	deadline := time.Now().Add(5 * lease)
	var bGranted time.Time
	for bGranted.IsZero() {
		if time.Now().After(deadline) {
			t.Fatalf("b not granted within %s of pausing a: a %+v, b %+v", 5*lease, a.Status(), b.Status())
		}
		if st := a.Status(); st.Held {
			aUntil = st.ValidUntil
		}
		if b.Status().Held {
			bGranted = time.Now()
		}
		time.Sleep(time.Millisecond) // sampling both clocks, not waiting for a condition
	}
	if a.Status().Held {
		t.Errorf("a still holds after b was granted: %+v", a.Status())
	}
	if !aUntil.Before(bGranted) {
		t.Errorf("a was valid until %v, after b was granted at %v", aUntil, bGranted)
	}
	if st := b.Status(); st.Token != 2 {
		t.Errorf("b's token %d, want 2", st.Token)
	}
	// a comes back: its renewal is refused (ConditionalCheckFailed) and it
	// follows b without holding again.
	a.gate.open()
	deadline = time.Now().Add(4 * lease)
	for a.Status().Holder != "b" {
		if time.Now().After(deadline) {
			t.Fatalf("a does not see b: %+v", a.Status())
		}
		if a.Status().Held {
			t.Fatalf("a holds again: %+v", a.Status())
		}
		select {
		case <-a.Changes():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestContendersNeverHoldTogetherAndTokensRise(t *testing.T) {
	f := newFixture(t)
	ms := []*member{f.start("a"), f.start("b"), f.start("c")}
	var last uint64
	for round := range 4 {
		var holder *member
		deadline := time.Now().Add(4 * time.Second)
		for holder == nil {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: nobody holds", round)
			}
			held := 0
			for _, m := range ms {
				if m.Status().Held {
					held++
					holder = m
				}
			}
			if held > 1 {
				t.Fatalf("round %d: %d members hold at once", round, held)
			}
			time.Sleep(2 * time.Millisecond) // sampling for overlap
		}
		st := holder.Status()
		if st.Token <= last {
			t.Fatalf("round %d: token %d after %d", round, st.Token, last)
		}
		last = st.Token
		// The holder stops: it releases, and another takes at once.
		holder.halt()
		ms = append(ms[:0:0], func() []*member {
			var rest []*member
			for _, m := range ms {
				if m != holder {
					rest = append(rest, m)
				}
			}
			return rest
		}()...)
		ms = append(ms, f.start(st.Self+"x"))
	}
}

func TestReleaseHandsOverWithoutWaiting(t *testing.T) {
	// A long lease, so that taking over by expiry and taking a released
	// item differ by far more than a loaded machine's scheduling delay.
	const long = 5 * time.Second
	f := newFixture(t)
	a := f.startLease("a", long)
	waitHeld(t, a, 2*time.Second)
	b := f.startLease("b", long)
	began := time.Now()
	a.halt()
	st := waitHeld(t, b, long)
	if took := time.Since(began); took > long/2 {
		t.Errorf("b took %s after a released, want far under one lease (%s)", took, long)
	}
	if st.Token != 2 {
		t.Errorf("b's token %d, want 2", st.Token)
	}
}

func TestIneligibleAndTransfer(t *testing.T) {
	f := newFixture(t)
	a := f.start("a")
	waitHeld(t, a, 2*time.Second)
	b := f.start("b")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if err := a.Transfer(ctx, ""); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if a.Status().Held {
		t.Error("a holds after transfer")
	}
	st := waitHeld(t, b, 2*time.Second)
	if st.Token != 2 {
		t.Errorf("b's token %d, want 2", st.Token)
	}
	if err := b.SetEligible(ctx, false, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Valid(st.Token); ok {
		t.Error("b's grant still valid right after SetEligible(false)")
	}
	if st := waitHeld(t, a, 3*time.Second); st.Token != 3 {
		t.Errorf("a's token %d, want 3", st.Token)
	}
}

// TestItemWritesUsePlaceholders reads the item as written: the reserved
// words owner and token are attributes, which only #placeholders can write.
func TestItemWritesUsePlaceholders(t *testing.T) {
	f := newFixture(t)
	a := f.start("a")
	waitHeld(t, a, 2*time.Second)
	out, err := f.client(f.svc.Handler()).GetItem(t.Context(), &awsddb.GetItemInput{
		TableName: aws.String(table), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "cluster"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := out.Item["owner"].(*types.AttributeValueMemberS)
	token, _ := out.Item["token"].(*types.AttributeValueMemberN)
	if owner == nil || owner.Value != "a" || token == nil || token.Value != "1" {
		t.Errorf("item %+v, want owner a token 1", out.Item)
	}
}
