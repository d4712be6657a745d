package simcluster

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The prober sees which node answers, counts the attempts nobody answered
// once the service is gone, and leaves nothing running after Stop, with
// attempts one after another or overlapping.
func TestProberSeesWhoAnswers(t *testing.T) {
	for _, overlap := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		svc := Serve(ln, "a")
		dial := func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}
		t0 := time.Now()
		p := StartProber(t.Context(), dial, ProberOptions{Every: 5 * time.Millisecond, Timeout: 200 * time.Millisecond, Overlap: overlap})
		waitUntil(t, "the service answers", func() bool { _, ok := p.FirstServed("a", t0); return ok })
		s, _ := p.FirstServed("a", t0)
		if s.Start.Before(t0) || s.End.Before(s.Start) || s.Err != nil {
			t.Errorf("overlap %v: first answer %+v, want one started after %v", overlap, s, t0)
		}
		svc.Close()
		t1 := time.Now()
		waitUntil(t, "attempts fail", func() bool { return p.Failed(t1, time.Now()) >= 3 })
		if _, ok := p.FirstServed("a", time.Now()); ok {
			t.Errorf("overlap %v: served after the service closed", overlap)
		}
		if got := p.Served()["a"]; got == 0 {
			t.Errorf("overlap %v: Served = %v, want answers by a", overlap, p.Served())
		}
		p.Stop()
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
