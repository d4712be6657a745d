package bench

import (
	"context"
	"fmt"
	"math/bits"
	"net/netip"
	"time"

	"github.com/vipd/vipd/internal/simcluster"
)

// ScaleResult is one cell of the scale grid: vipd's default settings
// failing over addrs addresses in tables route tables.
type ScaleResult struct {
	Addrs  int          `json:"addrs"`
	Tables int          `json:"tables"`
	Block  netip.Prefix `json:"block"`
	// Throttled cells answer the first 2×tables ReplaceRoute calls after
	// the fault with RequestLimitExceeded, on top of the token buckets.
	Throttled bool    `json:"throttled"`
	Rounds    []Round `json:"rounds"`
	// RoutesPerTable is the most routes for the block any table held.
	RoutesPerTable int    `json:"routes_per_table"`
	Err            string `json:"error,omitempty"`
}

// block is the smallest prefix at 192.168.100.0 holding n addresses and
// the VIP the client probes (192.168.100.10); for n = 1 it is that address.
func block(n int) netip.Prefix {
	if n <= 1 {
		return netip.PrefixFrom(failoverVIP, 32)
	}
	return netip.PrefixFrom(netip.MustParseAddr("192.168.100.0"), min(28, 32-bits.Len(uint(n-1))))
}

func runScale(ctx context.Context, o Options, addrs, tables int, throttled bool) (ScaleResult, error) {
	sr := ScaleResult{Addrs: addrs, Tables: tables, Block: block(addrs), Throttled: throttled}
	ids := simcluster.TableIDs(tables)
	o.Log.Info("scale", "addrs", addrs, "tables", tables, "block", sr.Block, "throttled", throttled)
	err := withSystem(ctx, o, failoverVIP, tables, false, func(e *env) (system, error) {
		return newVipd(e, VipdSettings{Label: "vipd default"}, sr.Block, ids)
	}, func(e *env, sys system) error {
		for range o.ScaleRounds {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if _, err := stableMaster(ctx, e, sys, sr.Block, ids); err != nil {
				return err
			}
			var throttle simcluster.Injected
			if throttled {
				var err error
				throttle, err = e.c.Inject(ctx, simcluster.FaultThrottle, simcluster.Target{Action: "ReplaceRoute", Count: 2 * tables, For: time.Minute})
				if err != nil {
					return err
				}
			}
			sr.Rounds = append(sr.Rounds, runRound(ctx, e, sys, FaultKill, sr.Block, ids, o.Log))
			_ = throttle.Heal()
		}
		for _, t := range e.srv.Snapshot().RouteTables {
			n := 0
			for _, r := range t.Routes {
				if p, err := netip.ParsePrefix(r.Destination); err == nil && p.Overlaps(sr.Block) {
					n++
				}
			}
			sr.RoutesPerTable = max(sr.RoutesPerTable, n)
		}
		return nil
	})
	if err != nil {
		sr.Err = err.Error()
		return sr, fmt.Errorf("scale %d addresses × %d tables: %w", addrs, tables, err)
	}
	return sr, nil
}
