package etcd_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/vipd/vipd/internal/election/etcd"
	"github.com/vipd/vipd/internal/election/follow"
)

// TestPatroniLeaderKey follows Patroni's leader key in a real etcd as
// Patroni writes it (/service/<scope>/leader = the leader's member name,
// https://patroni.readthedocs.io/en/latest/yaml_configuration.html, namespace and scope): the
// address follows the key through a switchover, survives a DCS outage
// shorter than the grace without flapping, and is dropped once the outage
// outlasts it or the key goes.
func TestPatroniLeaderKey(t *testing.T) {
	endpoint, stop := startEtcd(t)
	defer stop()
	const key = "/service/orders/leader"
	admin, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	put := func(v string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		var err error
		if v == "" {
			_, err = admin.Delete(ctx, key)
		} else {
			_, err = admin.Put(ctx, key, v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	const interval, grace = 100 * time.Millisecond, 1500 * time.Millisecond
	type node struct {
		link  *link
		key   *etcd.LeaderKey
		lease *follow.Lease
	}
	nodes := map[string]*node{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	running := 0
	for _, m := range []string{"pg-a", "pg-b"} {
		k := newLink(endpoint)
		lk, err := etcd.NewLeaderKey(etcd.LeaderKeyConfig{Client: etcd.Config{Endpoints: []string{endpoint}, Dial: k.dial},
			Key: key, Member: m, Interval: interval, Grace: grace}, slog.New(slog.NewTextHandler(t.Output(), nil)))
		if err != nil {
			t.Fatal(err)
		}
		l := follow.New(follow.Config{Self: m, Validity: interval}, lk, slog.New(slog.NewTextHandler(t.Output(), nil)))
		nodes[m] = &node{link: k, key: lk, lease: l}
		running++
		go func() { _ = l.Run(ctx); done <- struct{}{} }()
		if err := l.SetEligible(ctx, true, 100); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		cancel()
		for range running {
			<-done
		}
		for _, n := range nodes {
			n.link.close()
		}
	}()
	// wait until each node holds exactly as want says.
	wait := func(within time.Duration, want map[string]bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			ok := true
			for m, n := range nodes {
				ok = ok && n.lease.Status().Held == want[m]
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s: a holds %v, b holds %v; want %v", within, nodes["pg-a"].lease.Status().Held, nodes["pg-b"].lease.Status().Held, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait(5*time.Second, map[string]bool{})
	put("pg-a")
	wait(5*time.Second, map[string]bool{"pg-a": true})

	// A DCS outage shorter than the grace: pg-a keeps the address all along.
	nodes["pg-a"].link.set(true)
	cut := time.Now()
	for time.Since(cut) < grace/2 {
		if !nodes["pg-a"].lease.Status().Held {
			t.Fatalf("pg-a dropped the address %s into a DCS outage, within the grace of %s", time.Since(cut).Round(time.Millisecond), grace)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Outlasting the grace, it lets go.
	wait(grace+2*time.Second, map[string]bool{})
	// The grace runs from the last good read, which came at most one
	// interval before the cut.
	if d := time.Since(cut); d < grace-interval {
		t.Errorf("pg-a let go %s into the outage, before the grace of %s from its last read (one interval of %s at most before the cut)", d, grace, interval)
	}
	nodes["pg-a"].link.set(false)
	wait(5*time.Second, map[string]bool{"pg-a": true})

	// A switchover moves the key: the old leader lets go within a read.
	put("pg-b")
	began := time.Now()
	wait(5*time.Second, map[string]bool{"pg-b": true})
	t.Logf("switchover followed in %s", time.Since(began).Round(time.Millisecond))
	// No leader key (Patroni has none while it elects): nobody holds.
	put("")
	wait(5*time.Second, map[string]bool{})
}
