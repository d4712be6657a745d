package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

func (c *Cluster) report(r Round) {
	if c.o.JSON {
		_ = json.NewEncoder(c.o.Out).Encode(r)
		return
	}
	if r.Error != "" {
		fmt.Fprintf(c.o.Out, "  ✗ %s\n", r.Error)
		return
	}
	fmt.Fprintf(c.o.Out, "  ✓ failover %.0f ms (detection %.0f ms, AWS %.0f ms, %d client errors)\n",
		r.FailoverMS, r.DetectionMS, r.AcquireMS, r.ClientErrors)
}

func printSummary(w io.Writer, rounds []Round) {
	fmt.Fprintln(w, "\nsummary (fault → client served by the new primary):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trounds\tmedian ms\tmax ms\tfailed\t")
	for _, sc := range Scenarios {
		var ok []float64
		failed, n := 0, 0
		for _, r := range rounds {
			if r.Scenario != sc {
				continue
			}
			n++
			if r.Error != "" {
				failed++
				continue
			}
			ok = append(ok, r.FailoverMS)
		}
		if n == 0 {
			continue
		}
		med, max := "-", "-"
		if len(ok) > 0 {
			slices.Sort(ok)
			med = fmt.Sprintf("%.0f", median(ok))
			max = fmt.Sprintf("%.0f", ok[len(ok)-1])
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t\n", sc, n, med, max, failed)
	}
	tw.Flush()
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
