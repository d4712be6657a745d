package fabric

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	subnetX = "subnet-x"
	// waitLimit bounds every wait for an observable; nothing here should
	// take more than a fraction of it.
	waitLimit = 5 * time.Second
)

var vip = netip.MustParseAddrPort("192.168.100.10:5432")

// fakeResolver answers from a table that tests change, signalling changes
// on a one-slot hint channel as vpcsim's Server does.
type fakeResolver struct {
	mu      sync.Mutex
	routes  map[netip.Addr]string
	changes chan struct{}
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{routes: make(map[netip.Addr]string), changes: make(chan struct{}, 1)}
}

func (r *fakeResolver) Resolve(fromSubnetID string, dst netip.Addr) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if fromSubnetID != subnetX {
		return "", fmt.Errorf("unknown subnet %s", fromSubnetID)
	}
	inst, ok := r.routes[dst]
	if !ok {
		return "", fmt.Errorf("no route to %s", dst)
	}
	return inst, nil
}

// route points dst at instance ("" removes the route) and signals a change.
func (r *fakeResolver) route(dst netip.Addr, instance string) {
	r.mu.Lock()
	if instance == "" {
		delete(r.routes, dst)
	} else {
		r.routes[dst] = instance
	}
	r.mu.Unlock()
	select {
	case r.changes <- struct{}{}:
	default:
	}
}

// eventLog records ConnEvents for assertions.
type eventLog struct {
	mu     sync.Mutex
	events []ConnEvent
}

func (l *eventLog) add(ev ConnEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

// summary is an event reduced to what tests compare.
type summary struct {
	Instance string
	Outcome  Outcome
}

// waitFor polls until the log holds exactly want, in arrival order, and
// returns the events; tests order their steps so that arrival is determined.
func (l *eventLog) waitFor(t *testing.T, want []summary) []ConnEvent {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		l.mu.Lock()
		got := make([]summary, 0, len(l.events))
		for _, ev := range l.events {
			got = append(got, summary{ev.Instance, ev.Outcome})
		}
		events := append([]ConnEvent(nil), l.events...)
		l.mu.Unlock()
		diff := cmp.Diff(want, got)
		if diff == "" {
			return events
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection events after %s (-want +got):\n%s", waitLimit, diff)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForUnordered is waitFor for events of several connections, whose
// relative order the fabric does not promise.
func (l *eventLog) waitForUnordered(t *testing.T, want []summary) {
	t.Helper()
	less := func(a, b summary) int {
		return strings.Compare(a.Instance+string(a.Outcome), b.Instance+string(b.Outcome))
	}
	want = slices.SortedFunc(slices.Values(want), less)
	deadline := time.Now().Add(waitLimit)
	for {
		l.mu.Lock()
		got := make([]summary, 0, len(l.events))
		for _, ev := range l.events {
			got = append(got, summary{ev.Instance, ev.Outcome})
		}
		l.mu.Unlock()
		slices.SortFunc(got, less)
		diff := cmp.Diff(want, got)
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection events after %s, in any order (-want +got):\n%s", waitLimit, diff)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nameServer is an instance's service: it greets every connection with its
// name, then echoes what it reads in upper case until EOF.
type nameServer struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

func startNameServer(t *testing.T, name string) *nameServer {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &nameServer{name: name, ln: ln, open: make(map[net.Conn]struct{})}
	s.wg.Go(s.serve)
	t.Cleanup(s.kill)
	return s
}

func (s *nameServer) addr() netip.AddrPort {
	return s.ln.Addr().(*net.TCPAddr).AddrPort()
}

func (s *nameServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.open[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.open, c)
				s.mu.Unlock()
				c.Close()
			}()
			if _, err := fmt.Fprintf(c, "%s\n", s.name); err != nil {
				return
			}
			buf := make([]byte, 512)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write([]byte(strings.ToUpper(string(buf[:n])))); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}
}

// kill stops the server as a dying process would: the listener and every
// connection close at once. It is idempotent.
func (s *nameServer) kill() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// startFabric runs a fabric until the test ends and checks that Run returns.
func startFabric(t *testing.T, r *fakeResolver) (*Fabric, *eventLog) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := New(r, r.changes, logger)
	log := &eventLog{}
	f.OnConn(log.add)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(waitLimit):
			t.Errorf("Run did not return %s after its context was cancelled", waitLimit)
		}
	})
	return f, log
}

// client is a test client connected through the fabric.
type client struct {
	t    *testing.T
	conn *net.TCPConn
	r    *bufio.Reader
}

// exposed is the set-up most tests start from: the VIP routed to i-a,
// where name server "a" serves it, exposed to subnet X at addr.
type exposed struct {
	r    *fakeResolver
	f    *Fabric
	log  *eventLog
	a    *nameServer
	b    *nameServer // exposeAB only
	addr netip.AddrPort
}

func exposeA(t *testing.T) exposed {
	t.Helper()
	return expose(t, false)
}

// exposeAB is exposeA with a second backend: name server "b" serving the
// VIP on i-b, for the tests that move the route there.
func exposeAB(t *testing.T) exposed {
	t.Helper()
	return expose(t, true)
}

func expose(t *testing.T, withB bool) exposed {
	t.Helper()
	e := exposed{r: newFakeResolver()}
	e.r.route(vip.Addr(), "i-a")
	e.f, e.log = startFabric(t, e.r)
	e.a = startNameServer(t, "a")
	e.f.Bind("i-a", vip.Port(), e.a.addr())
	if withB {
		e.b = startNameServer(t, "b")
		e.f.Bind("i-b", vip.Port(), e.b.addr())
	}
	var err error
	if e.addr, err = e.f.Expose(vip, subnetX); err != nil {
		t.Fatal(err)
	}
	return e
}

func dial(t *testing.T, addr netip.AddrPort) *client {
	t.Helper()
	c, err := net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	// Bounds every read below: a hang fails the test instead of stalling it.
	if err := c.SetDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

// readLine returns the next line, or the error that ended the connection.
func (c *client) readLine() (string, error) {
	line, err := c.r.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// greeting reads the backend's name line and fails the test on error.
func (c *client) greeting() string {
	c.t.Helper()
	name, err := c.readLine()
	if err != nil {
		c.t.Fatalf("read greeting: %v", err)
	}
	return name
}

// wantEnded checks that the connection ends (reset or EOF) and does not hang.
func (c *client) wantEnded(wantReset bool) {
	c.t.Helper()
	_, err := c.r.ReadByte()
	var ne net.Error
	switch {
	case err == nil:
		c.t.Errorf("read succeeded, want the connection ended")
	case errors.As(err, &ne) && ne.Timeout():
		c.t.Errorf("read timed out after %s, want the connection ended at once", waitLimit)
	case wantReset && !errors.Is(err, syscall.ECONNRESET):
		c.t.Errorf("read error = %v, want a connection reset", err)
	case !wantReset && !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET):
		c.t.Errorf("read error = %v, want EOF or a reset", err)
	}
}

// dialWantReset checks that a connection through addr is reset at once: on
// loopback the fabric's reset can beat the client's connect call, so a reset
// during connect counts as well as one on the first read.
func dialWantReset(t *testing.T, addr netip.AddrPort) {
	t.Helper()
	c, err := net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(addr))
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("dial %s = %v, want success or a connection reset", addr, err)
		}
		return
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	(&client{t: t, conn: c, r: bufio.NewReader(c)}).wantEnded(true)
}

func TestMovedRouteSendsNewConnectionsToNewOwnerAndResetsOld(t *testing.T) {
	e := exposeAB(t)

	old := dial(t, e.addr)
	if got := old.greeting(); got != "a" {
		t.Fatalf("first connection greeted by %q, want a", got)
	}
	e.log.waitFor(t, []summary{{"i-a", Connected}})

	e.r.route(vip.Addr(), "i-b")
	// The old connection's flow now reaches i-b, which has no such
	// connection: the client sees a reset.
	old.wantEnded(true)
	events := e.log.waitFor(t, []summary{{"i-a", Connected}, {"i-a", Reset}})
	if !errors.Is(events[1].Err, ErrReceiverChanged) {
		t.Errorf("reset cause = %v, want ErrReceiverChanged", events[1].Err)
	}

	next := dial(t, e.addr)
	if got := next.greeting(); got != "b" {
		t.Errorf("connection after the move greeted by %q, want b", got)
	}
	events = e.log.waitFor(t, []summary{{"i-a", Connected}, {"i-a", Reset}, {"i-b", Connected}})
	if got, want := events[2].Backend, e.b.addr(); got != want {
		t.Errorf("backend of the new connection = %s, want %s", got, want)
	}
}

func TestUnrelatedChangeKeepsConnectionsOpen(t *testing.T) {
	e := exposeA(t)
	c := dial(t, e.addr)
	c.greeting()
	e.log.waitFor(t, []summary{{"i-a", Connected}})

	// Another address moves; the VIP's receiver stays i-a.
	e.r.route(netip.MustParseAddr("192.168.100.11"), "i-b")
	// A connection made after the change proves Run handled the hint.
	c2 := dial(t, e.addr)
	c2.greeting()
	e.log.waitFor(t, []summary{{"i-a", Connected}, {"i-a", Connected}})

	if _, err := c.conn.Write([]byte("still here\n")); err != nil {
		t.Fatalf("write after an unrelated change: %v", err)
	}
	if got, err := c.readLine(); err != nil || got != "STILL HERE" {
		t.Errorf("echo after an unrelated change = %q, %v; want STILL HERE", got, err)
	}
}

func TestForwardsBothWaysWithHalfClose(t *testing.T) {
	e := exposeA(t)
	c := dial(t, e.addr)
	payload := strings.Repeat("select 1;", 20000) // larger than socket buffers
	if _, err := c.conn.Write([]byte(payload)); err != nil {
		t.Fatal(err)
	}
	if err := c.conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c.r)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	if want := "a\n" + strings.ToUpper(payload); string(got) != want {
		t.Errorf("reply is %d bytes, want %d (greeting and upper-cased payload)", len(got), len(want))
	}
	events := e.log.waitFor(t, []summary{{"i-a", Connected}, {"i-a", Closed}})
	if events[1].Err != nil || events[1].Duration <= 0 {
		t.Errorf("closed event = %+v, want no error and a duration", events[1])
	}
}

func TestFailedConnectionsEndAtOnce(t *testing.T) {
	// A port nothing listens on: a dead instance's service.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()

	tests := []struct {
		name  string
		route string // receiver of the VIP; "" for none
		bind  bool   // bind the receiver's port to deadAddr
		want  summary
	}{
		{"a dead backend is refused", "i-a", true, summary{"i-a", Refused}},
		{"an instance without the service has no service", "i-a", false, summary{"i-a", NoService}},
		{"a destination nobody receives is unroutable", "", false, summary{"", Unroutable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newFakeResolver()
			r.route(vip.Addr(), tt.route)
			f, log := startFabric(t, r)
			if tt.bind {
				f.Bind(tt.route, vip.Port(), deadAddr)
			}
			addr, err := f.Expose(vip, subnetX)
			if err != nil {
				t.Fatal(err)
			}
			dialWantReset(t, addr)
			events := log.waitFor(t, []summary{tt.want})
			if events[0].Err == nil {
				t.Errorf("%s event has no cause", events[0].Outcome)
			}
		})
	}
}

func TestBackendDyingEndsTheClientConnection(t *testing.T) {
	e := exposeA(t)
	c := dial(t, e.addr)
	c.greeting()
	e.a.kill()
	c.wantEnded(false)
	// As with TCP, the backend's FIN only half-closes; the client's close
	// ends the forwarded connection.
	c.conn.Close()
	e.log.waitFor(t, []summary{{"i-a", Connected}, {"i-a", Closed}})

	// Afterwards the dead backend refuses.
	dialWantReset(t, e.addr)
	e.log.waitFor(t, []summary{{"i-a", Connected}, {"i-a", Closed}, {"i-a", Refused}})
}

func TestUnbindResetsOpenConnections(t *testing.T) {
	e := exposeA(t)
	c := dial(t, e.addr)
	c.greeting()
	e.log.waitFor(t, []summary{{"i-a", Connected}})

	e.f.Unbind("i-a", vip.Port())
	c.wantEnded(true)
	events := e.log.waitFor(t, []summary{{"i-a", Connected}, {"i-a", Reset}})
	if !errors.Is(events[1].Err, ErrUnbound) {
		t.Errorf("reset cause = %v, want ErrUnbound", events[1].Err)
	}
	dialWantReset(t, e.addr)
	e.log.waitFor(t, []summary{{"i-a", Connected}, {"i-a", Reset}, {"i-a", NoService}})
}

func TestRebindMovesNewConnectionsAndResetsOld(t *testing.T) {
	r := newFakeResolver()
	r.route(vip.Addr(), "i-a")
	f, log := startFabric(t, r)
	first, second := startNameServer(t, "first"), startNameServer(t, "second")
	f.Bind("i-a", vip.Port(), first.addr())
	addr, err := f.Expose(vip, subnetX)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr)
	c.greeting()
	log.waitFor(t, []summary{{"i-a", Connected}})

	f.Bind("i-a", vip.Port(), first.addr()) // same backend: nothing happens
	f.Bind("i-a", vip.Port(), second.addr())
	c.wantEnded(true)
	if got := dial(t, addr).greeting(); got != "second" {
		t.Errorf("connection after rebind greeted by %q, want second", got)
	}
	// The old connection's reset and the new one's connect are events of
	// two connections, reported by their own goroutines in either order.
	log.waitForUnordered(t, []summary{{"i-a", Connected}, {"i-a", Reset}, {"i-a", Connected}})
}

func TestExposeIsIdempotentPerDestinationAndSubnet(t *testing.T) {
	r := newFakeResolver()
	r.route(vip.Addr(), "i-a")
	r.route(netip.MustParseAddr("10.0.1.10"), "i-b")
	f, _ := startFabric(t, r)
	a, b := startNameServer(t, "a"), startNameServer(t, "b")
	f.Bind("i-a", vip.Port(), a.addr())
	f.Bind("i-b", 80, b.addr())

	first, err := f.Expose(vip, subnetX)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.Expose(vip, subnetX)
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Errorf("Expose twice = %s then %s, want the same address", first, again)
	}
	other, err := f.Expose(netip.MustParseAddrPort("10.0.1.10:80"), subnetX)
	if err != nil {
		t.Fatal(err)
	}
	if other == first || !other.Addr().IsLoopback() {
		t.Errorf("Expose of another destination = %s, want a different loopback address than %s", other, first)
	}
	if got := dial(t, other).greeting(); got != "b" {
		t.Errorf("other destination greeted by %q, want b", got)
	}
	if got := dial(t, first).greeting(); got != "a" {
		t.Errorf("VIP greeted by %q, want a", got)
	}
}

func TestExposeBeforeRunQueuesConnections(t *testing.T) {
	r := newFakeResolver()
	r.route(vip.Addr(), "i-a")
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	f := New(r, r.changes, logger)
	a := startNameServer(t, "a")
	f.Bind("i-a", vip.Port(), a.addr())
	addr, err := f.Expose(vip, subnetX)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr) // sits in the backlog until Run

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	if got := c.greeting(); got != "a" {
		t.Errorf("queued connection greeted by %q, want a", got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("Run did not return %s after cancel", waitLimit)
	}
	// Run closed the open connection and the listener.
	c.wantEnded(true)
	if _, err := net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(addr)); err == nil {
		t.Errorf("dial %s after Run returned succeeded, want refused", addr)
	}
	if _, err := f.Expose(vip, "subnet-y"); !errors.Is(err, ErrClosed) {
		t.Errorf("Expose after Run = %v, want ErrClosed", err)
	}
	if err := f.Run(t.Context()); err == nil {
		t.Error("second Run = nil, want an error")
	}
}

func TestExposeWhileRunningIsServed(t *testing.T) {
	r := newFakeResolver()
	f, _ := startFabric(t, r)
	a := startNameServer(t, "a")
	f.Bind("i-a", vip.Port(), a.addr())
	r.route(vip.Addr(), "i-a")
	addr, err := f.Expose(vip, subnetX)
	if err != nil {
		t.Fatal(err)
	}
	if got := dial(t, addr).greeting(); got != "a" {
		t.Errorf("greeted by %q, want a", got)
	}
}

func TestManyConcurrentClientsFollowAMove(t *testing.T) {
	e := exposeAB(t)
	const n = 20
	olds := make([]*client, n)
	for i := range olds {
		olds[i] = dial(t, e.addr)
		if got := olds[i].greeting(); got != "a" {
			t.Fatalf("client %d greeted by %q, want a", i, got)
		}
	}
	e.r.route(vip.Addr(), "i-b")
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := net.DialTCP("tcp4", nil, net.TCPAddrFromAddrPort(e.addr))
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(waitLimit))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || line != "b\n" {
				t.Errorf("client %d after the move read %q, %v; want b", i, line, err)
			}
		})
	}
	wg.Wait()
	for _, c := range olds {
		c.wantEnded(true)
	}
}

func TestReceiverVanishingResetsOpenConnections(t *testing.T) {
	e := exposeA(t)
	c := dial(t, e.addr)
	c.greeting()
	e.log.waitFor(t, []summary{{"i-a", Connected}})

	// The owner stopped: its route is a blackhole, Resolve fails.
	e.r.route(vip.Addr(), "")
	c.wantEnded(true)
	events := e.log.waitFor(t, []summary{{"i-a", Connected}, {"i-a", Reset}})
	if !errors.Is(events[1].Err, ErrReceiverChanged) {
		t.Errorf("reset cause = %v, want ErrReceiverChanged", events[1].Err)
	}
}
