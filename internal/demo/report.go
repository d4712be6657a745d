package demo

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
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
	fmt.Fprintln(c.o.Out, "  ✓ "+summaryLine(r))
}

// roundedParts are the detection, AWS and client parts in whole
// milliseconds, each rounded at its end point on the timeline, so that they
// add up to the rounded failover time.
func roundedParts(r Round) (detection, aws, client float64) {
	detection = math.Round(r.DetectionMS)
	aws = math.Round(r.DetectionMS+r.AWSMS) - detection
	client = math.Round(r.FailoverMS) - detection - aws
	return detection, aws, client
}

// summaryLine is a round's failover cut into its parts. Each part is
// rounded at its end point, so that the printed parts add up to the
// printed total.
func summaryLine(r Round) string {
	d, a, cl := roundedParts(r)
	calls := fmt.Sprintf("%d EC2 calls", r.AWSAttempts)
	if codes := failedCodes(r.AWSErrors); codes != "" {
		calls += ", retried: " + codes
	}
	return fmt.Sprintf("failover %.0f ms = detection %.0f ms + AWS %.0f ms (%s) + client %.0f ms; %d client errors",
		math.Round(r.FailoverMS), d, a, calls, cl, r.ClientErrors)
}

// failedCodes is "2 InternalError, 3 RequestLimitExceeded", or "" when
// no call failed.
func failedCodes(codes map[string]int) string {
	out := make([]string, 0, len(codes))
	for _, code := range slices.Sorted(maps.Keys(codes)) {
		out = append(out, fmt.Sprintf("%d %s", codes[code], code))
	}
	return strings.Join(out, ", ")
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
