package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"
)

// Route counts against F5's published table: the F5 BIG-IP Cloud Failover
// Extension documents failover times on AWS of about 5 s for up to 100
// routes, 15 s at 200 and 90 s at 500. The same counts for vipd are 25
// addresses in 4, 8 and 20 route tables, once with addresses that cannot
// be merged (25 /32 routes a table) and once with addresses that can (one
// block, one route a table): one cluster (vipd's defaults, raft and a
// witness), its owner killed, timed until every route of every table
// leads to the new owner, beside the floor EC2's mutating bucket (50,
// refilled at 5 a second) allows for that many writes. The cluster runs as
// the storm's clusters do (storm.go), in an account of its own.

// RouteCell is one cell of the route-count table.
type RouteCell struct {
	Addresses, Tables int
	Mergeable         bool
}

// RouteCells are the F5 comparison's cells.
var RouteCells = []RouteCell{
	{25, 4, false}, {25, 8, false}, {25, 20, false},
	{25, 4, true}, {25, 8, true}, {25, 20, true},
}

// f5Published is F5's published failover time on AWS by route count
// (BIG-IP Cloud Failover Extension documentation).
var f5Published = map[int]time.Duration{100: 5 * time.Second, 200: 15 * time.Second, 500: 90 * time.Second}

// RunRouteCounts measures each cell.
func RunRouteCounts(ctx context.Context, bin string, cells []RouteCell, log *slog.Logger) ([]StormResult, []error) {
	var out []StormResult
	var errs []error
	for _, c := range cells {
		if ctx.Err() != nil {
			break
		}
		log.Info("route count", "addresses", c.Addresses, "tables", c.Tables, "mergeable", c.Mergeable)
		r, err := RunStorm(ctx, bin, StormOptions{Clusters: 1, Tables: c.Tables, Addresses: c.Addresses, Mergeable: c.Mergeable,
			Settings: DefaultSettings}, log)
		if err != nil {
			errs = append(errs, fmt.Errorf("route count %d × %d (mergeable %v): %w", c.Addresses, c.Tables, c.Mergeable, err))
		}
		out = append(out, r)
	}
	return out, errs
}

// printRouteCounts writes vipd's route counts beside F5's published times.
func printRouteCounts(w io.Writer, cells []StormResult) {
	if len(cells) == 0 {
		return
	}
	fmt.Fprintln(w, "## Route counts against F5's published table: kill -9 of the owner → every route at the new owner")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "addresses × tables\taddresses\troutes written\tvipd (s)\tfirst write (s)\twrites phase (s)\tfloor (s)\tF5 CFE published (s)\tRequestLimitExceeded\tgave up\t")
	for _, r := range cells {
		kind := "separate /32s"
		if r.Mergeable {
			kind = "one block"
		}
		f5 := "-"
		if d, ok := f5Published[r.Addresses*r.Tables]; ok {
			f5 = fmt.Sprintf("%.0f", d.Seconds())
		}
		fmt.Fprintf(tw, "%d × %d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", r.Addresses, r.Tables, kind, r.Writes,
			secs(r.Converged), secs(r.FirstWrite), secs(r.Converged-r.FirstWrite), secs(r.Floor), f5, r.Throttled, r.GaveUp)
	}
	tw.Flush()
	fmt.Fprintln(w)
}
