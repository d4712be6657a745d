package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary is the statistics of a set of rounds.
type Summary struct {
	N, OK            int
	Median, P95, Max time.Duration
	// RoutedMedian and RoutedMax are of the time to every table moved.
	RoutedMedian, RoutedMax time.Duration
	Calls, Writes           float64 // per round, mean
	Throttled               int
	BothMaster              time.Duration // total
	RoundsBothMaster        int
	StaleAfterHeal          int
	Errors                  int
}

// Summarize computes median, p95 (nearest rank) and max of the rounds that
// failed over, and the means and totals of the rest.
func Summarize(rounds []Round) Summary {
	s := Summary{N: len(rounds)}
	var ds, rs []time.Duration
	for _, r := range rounds {
		if r.AllRouted > 0 {
			rs = append(rs, r.AllRouted)
		}
		if r.OK {
			s.OK++
			ds = append(ds, r.Failover)
		}
		s.Calls += float64(r.Calls.All)
		s.Writes += float64(r.Calls.Writes)
		s.Throttled += r.Calls.Throttled
		s.BothMaster += r.BothMaster
		if r.BothMaster > 0 {
			s.RoundsBothMaster++
		}
		if r.Stale {
			s.StaleAfterHeal++
		}
		if r.Err != "" {
			s.Errors++
		}
	}
	if s.N > 0 {
		s.Calls /= float64(s.N)
		s.Writes /= float64(s.N)
	}
	if len(ds) > 0 {
		slices.Sort(ds)
		s.Median = percentile(ds, 50)
		s.P95 = percentile(ds, 95)
		s.Max = ds[len(ds)-1]
	}
	if len(rs) > 0 {
		slices.Sort(rs)
		s.RoutedMedian = percentile(rs, 50)
		s.RoutedMax = rs[len(rs)-1]
	}
	return s
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 1 {
		return sorted[0]
	}
	if p == 50 && len(sorted)%2 == 0 {
		return (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

// systemsOf lists the systems of the rounds in first-seen order.
func systemsOf(rounds []Round) []string {
	var out []string
	for _, r := range rounds {
		if !slices.Contains(out, r.System) {
			out = append(out, r.System)
		}
	}
	return out
}

func filter(rounds []Round, system string, f Fault) []Round {
	var out []Round
	for _, r := range rounds {
		if r.System == system && r.Fault == f {
			out = append(out, r)
		}
	}
	return out
}

// Print writes the results as tables, with the vipd/baseline ratios last.
func Print(w io.Writer, res *Results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(res.Rounds) > 0 {
		fmt.Fprintln(w, "## Failover: fault → client answered by the new owner (seconds)")
		fmt.Fprintln(w)
		fmt.Fprintln(tw, "fault\tsystem\tok/n\tmedian\tp95\tmax\tall tables median\tall tables max\tEC2 calls\twrites\tthrottled\tboth master (s)\trounds w/ 2 masters\tstale route after heal\t")
		for _, f := range append(append([]Fault(nil), Faults...), FaultPlanned) {
			for _, sys := range systemsOf(res.Rounds) {
				rs := filter(res.Rounds, sys, f)
				if len(rs) == 0 {
					continue
				}
				s := Summarize(rs)
				fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%d\t%s\t%d\t%d\t\n", f, sys, s.OK, s.N,
					secs(s.Median), secs(s.P95), secs(s.Max), secs(s.RoutedMedian), secs(s.RoutedMax), s.Calls, s.Writes, s.Throttled, secs(s.BothMaster), s.RoundsBothMaster, s.StaleAfterHeal)
			}
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if len(res.Scale) > 0 {
		fmt.Fprintln(w, "## Scale: vipd default, kill -9 of the primary, realistic latency + EC2 throttling")
		fmt.Fprintln(w)
		fmt.Fprintln(tw, "addresses\tblock\troute tables\textra throttling\tok/n\tmedian (s)\tmax (s)\tall tables median (s)\tall tables max (s)\tEC2 calls/failover\twrites/failover\tthrottled/failover\troutes per table\t")
		for _, sr := range res.Scale {
			s := Summarize(sr.Rounds)
			extra := "-"
			if sr.Throttled {
				extra = fmt.Sprintf("%d RLE", 2*sr.Tables)
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d/%d\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%.1f\t%d\t\n", sr.Addrs, sr.Block, sr.Tables, extra, s.OK, s.N,
				secs(s.Median), secs(s.Max), secs(s.RoutedMedian), secs(s.RoutedMax), s.Calls, s.Writes, float64(s.Throttled)/float64(max(1, s.N)), sr.RoutesPerTable)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if len(res.Idle) > 0 {
		fmt.Fprintln(w, "## Idle cost")
		fmt.Fprintln(w)
		fmt.Fprintln(tw, "system\trole\twindow (s)\tCPU (% of a core)\tmax RSS (MiB)\tof which anonymous (MiB)\tEC2 calls/min\t")
		for _, ir := range res.Idle {
			for _, n := range ir.Nodes {
				fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.2f\t%.1f\t%.1f\t%.1f\t\n", ir.System, n.Role, ir.Window.Seconds(), n.CPUPercent, n.MaxRSSMiB, n.MaxAnonMiB, n.CallsPerMin)
			}
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	printRouteCounts(w, res.Routes)
	printStorm(w, res.Storm)
	printPacemaker(w, res)
	for _, p := range res.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	if len(res.Problems) > 0 {
		fmt.Fprintln(w)
	}
	printRatios(w, res)
	printStormLines(w, res.Storm)
}

// printRatios writes vipd's median and max failover over the baseline's,
// per fault: below 1 is faster.
func printRatios(w io.Writer, res *Results) {
	const base = BaselineName
	var lines []string
	for _, f := range append(append([]Fault(nil), Faults...), FaultPlanned) {
		b := Summarize(filter(res.Rounds, base, f))
		if b.OK == 0 {
			continue
		}
		for _, sys := range systemsOf(res.Rounds) {
			if sys == base {
				continue
			}
			v := Summarize(filter(res.Rounds, sys, f))
			if v.OK == 0 {
				continue
			}
			line := fmt.Sprintf("%-10s %-13s client served: median %4.2f max %4.2f (%.2fs vs %.2fs)", f, sys,
				v.Median.Seconds()/b.Median.Seconds(), v.Max.Seconds()/b.Max.Seconds(), v.Median.Seconds(), b.Median.Seconds())
			if v.RoutedMedian > 0 && b.RoutedMedian > 0 {
				line += fmt.Sprintf("   all tables moved: median %4.2f max %4.2f (%.2fs vs %.2fs)",
					v.RoutedMedian.Seconds()/b.RoutedMedian.Seconds(), v.RoutedMax.Seconds()/b.RoutedMax.Seconds(),
					v.RoutedMedian.Seconds(), b.RoutedMedian.Seconds())
			}
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintln(w, "## Ratio vipd / baseline (failover time; < 1 is faster)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

// Merge combines the results of several runs, in order: each system's
// rounds and idle figures come from the last run that has any for it, and
// scale cells from the last run that has any. Problems are kept from all.
func Merge(runs ...*Results) *Results {
	out := &Results{}
	bySystem := map[string][]Round{}
	var order []string
	idle := map[string]IdleResult{}
	var idleOrder []string
	for _, r := range runs {
		if out.Started.IsZero() || r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		out.Took += r.Took
		seen := map[string]bool{}
		for _, rd := range r.Rounds {
			if !seen[rd.System] {
				seen[rd.System] = true
				if _, ok := bySystem[rd.System]; !ok {
					order = append(order, rd.System)
				}
				bySystem[rd.System] = nil
			}
			bySystem[rd.System] = append(bySystem[rd.System], rd)
		}
		for _, ir := range r.Idle {
			if _, ok := idle[ir.System]; !ok {
				idleOrder = append(idleOrder, ir.System)
			}
			idle[ir.System] = ir
		}
		if len(r.Scale) > 0 {
			out.Scale = r.Scale
		}
		if len(r.Storm) > 0 {
			out.Storm = r.Storm
		}
		if len(r.Pacemaker) > 0 {
			out.Pacemaker = r.Pacemaker
		}
		if len(r.Routes) > 0 {
			out.Routes = r.Routes
		}
		out.Problems = append(out.Problems, r.Problems...)
	}
	for _, sys := range order {
		out.Rounds = append(out.Rounds, bySystem[sys]...)
	}
	for _, sys := range idleOrder {
		out.Idle = append(out.Idle, idle[sys])
	}
	return out
}

// vipdFor is vipd's default settings' kill -9 rounds with tables route
// tables in res: the failover part's (four tables) or a scale cell's
// (one address, no extra throttling).
func vipdFor(res *Results, tables int) []Round {
	if tables == len(failoverTables) {
		if rs := filter(res.Rounds, DefaultSettings.Label, FaultKill); len(rs) > 0 {
			return rs
		}
	}
	for _, sr := range res.Scale {
		if sr.Tables == tables && sr.Addrs == 1 && !sr.Throttled {
			return sr.Rounds
		}
	}
	return nil
}

// printPacemaker writes the agent's rounds per table count, with the
// modelled detection added, beside vipd's kill -9 rounds of the same run.
func printPacemaker(w io.Writer, res *Results) {
	if len(res.Pacemaker) == 0 {
		return
	}
	byTables := map[int][]AgentRound{}
	var counts []int
	for _, r := range res.Pacemaker {
		if _, ok := byTables[r.Tables]; !ok {
			counts = append(counts, r.Tables)
		}
		byTables[r.Tables] = append(byTables[r.Tables], r)
	}
	fmt.Fprintf(w, "## Pacemaker aws-vpc-move-ip: the agent's start from the fault (seconds); detection modelled as corosync token %s + consensus %s = %s\n",
		CorosyncToken, CorosyncConsensus, PacemakerDetection)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "route tables\tok/n\tagent: client served median\tmax\tall tables median\tstart returned median\tEC2 calls\twrites\twith detection: served median\tvipd default kill -9: served median\tall tables median\tvipd / Pacemaker\t")
	for _, n := range counts {
		rs := byTables[n]
		var served, routed, done []time.Duration
		var calls, writes float64
		ok := 0
		for _, r := range rs {
			if r.OK {
				ok++
				served = append(served, r.Served)
			}
			if r.AllRouted > 0 {
				routed = append(routed, r.AllRouted)
			}
			done = append(done, r.Done)
			calls += float64(r.Calls.All)
			writes += float64(r.Calls.Writes)
		}
		med := func(ds []time.Duration) time.Duration {
			if len(ds) == 0 {
				return 0
			}
			slices.Sort(ds)
			return percentile(ds, 50)
		}
		var maxServed time.Duration
		if len(served) > 0 {
			maxServed = slices.Max(served)
		}
		total := med(served) + PacemakerDetection
		vipdServed, vipdRouted, ratio := "-", "-", "-"
		if v := Summarize(vipdFor(res, n)); v.OK > 0 {
			vipdServed, vipdRouted = secs(v.Median), secs(v.RoutedMedian)
			if len(served) > 0 {
				ratio = fmt.Sprintf("%.3f", v.Median.Seconds()/total.Seconds())
			}
		}
		fmt.Fprintf(tw, "%d\t%d/%d\t%s\t%s\t%s\t%s\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t\n", n, ok, len(rs),
			secs(med(served)), secs(maxServed), secs(med(routed)), secs(med(done)),
			calls/float64(len(rs)), writes/float64(len(rs)), secs(total), vipdServed, vipdRouted, ratio)
	}
	tw.Flush()
	fmt.Fprintln(w)
}
