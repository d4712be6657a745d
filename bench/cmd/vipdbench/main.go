// Command vipdbench runs the benchmarks of package bench (vipd against a
// keepalived + AWS CLI baseline on the netns fabric, scale under EC2
// throttling, idle cost, planned switchover) and prints their tables with
// the vipd/baseline ratio last. It needs root, keepalived and the AWS CLI;
// `make bench` runs it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vipd/vipd/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "vipdbench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		o        bench.Options
		parts    = flag.String("parts", "failover,switchover,idle,scale,routes,storm,pacemaker", "comma-separated parts to run (pacemaker: the aws-vpc-move-ip agent's start, needs resource-agents)")
		addrs    = flag.String("scale-addrs", "1,10,100", "addresses per scale cell")
		tables   = flag.String("scale-tables", "1,5,20", "route tables per scale cell")
		short    = flag.Bool("short", false, "quick mode for CI: 1 round per fault and system (unless -n says otherwise), 10s idle, scale 1 and 100 addresses × 1 and 20 tables, route counts 25 × 4 only, a storm of at most 30 clusters, one Pacemaker agent round with 1 table")
		pmTables = flag.String("pacemaker-tables", "1,4,20", "route tables of the Pacemaker agent's rounds")
		systems  = flag.String("systems", "keepalived,default,tuned,dynamodb", "comma-separated systems for failover, switchover and idle (dynamodb: vipd's defaults with the dynamodb election, no witness)")
		jsonPath = flag.String("json", "", "also write the raw results as JSON to this file")
		verbose  = flag.Bool("v", false, "log every round to stderr")
		stormSys = flag.String("storm-systems", "agents,controller", "comma-separated systems of the storm part: agents (vipd run on every node), controller (one vipd controller serving every cluster)")
		stormSet = flag.String("storm-settings", "dynamodb", "the storm agents' settings: dynamodb (vipd's defaults with the dynamodb election: two nodes per cluster, no witness), default (raft and a witness per cluster), tuned (raft, lease 1s)")
		report   = flag.String("report", "", "run nothing; print the tables of these comma-separated -json files, each system's rounds from the last file that has them")
	)
	flag.StringVar(&o.VipdBin, "vipd", "bin/vipd", "vipd binary")
	flag.IntVar(&o.Rounds, "n", 10, "rounds per fault and system")
	flag.DurationVar(&o.Idle, "idle", time.Minute, "idle benchmark window per system")
	flag.IntVar(&o.ScaleRounds, "scale-rounds", 2, "failovers per scale cell")
	flag.IntVar(&o.PacemakerRounds, "pacemaker-rounds", 2, "rounds of the Pacemaker agent per route table count")
	flag.DurationVar(&o.TunedLease, "tuned-lease", 0, "lease of the tuned system instead of its own (0: the profile's)")
	flag.IntVar(&o.Starve, "cpu-starve", 0, "run this many busy loops on the master's host in every failover and switchover round, from a second before the fault (0: none)")
	flag.IntVar(&o.Storm.Clusters, "storm-clusters", 50, "independent clusters failing over at once in the storm part")
	flag.IntVar(&o.Storm.Tables, "storm-tables", 2, "route tables per cluster in the storm part")
	flag.BoolVar(&o.Storm.NoEC2Buckets, "storm-no-ec2-buckets", false, "run the storm's controller without its copy of EC2's throttling buckets (ec2-buckets: {off: true}), to compare with")
	flag.Parse()
	if *short {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["n"] {
			o.Rounds = 1
		}
		o.Idle, o.ScaleRounds = 10*time.Second, 1
		*addrs, *tables = "1,100", "1,20"
		o.Storm.Clusters = min(o.Storm.Clusters, 30)
		*pmTables, o.PacemakerRounds = "1", 1
		o.RouteCells = []bench.RouteCell{{Addresses: 25, Tables: 4}, {Addresses: 25, Tables: 4, Mergeable: true}}
	}
	switch *stormSet {
	case "default":
		o.Storm.Settings = bench.DefaultSettings
	case "tuned":
		o.Storm.Settings = bench.TunedSettings
	case "dynamodb":
		o.Storm.Settings = bench.DynamoDBSettings
	default:
		return fmt.Errorf("-storm-settings %q is not default, tuned or dynamodb", *stormSet)
	}
	o.StormSystems = strings.Split(*stormSys, ",")
	if *report != "" {
		return printReport(strings.Split(*report, ","))
	}
	// Without the binary every system would only time out waiting for
	// a master; say what is missing instead.
	if fi, err := os.Stat(o.VipdBin); err != nil || fi.IsDir() {
		return fmt.Errorf("-vipd %s: no vipd binary there (make build builds bin/vipd)", o.VipdBin)
	}
	o.Parts = strings.Split(*parts, ",")
	o.Systems = strings.Split(*systems, ",")
	var err error
	if o.ScaleAddrs, err = ints(*addrs); err != nil {
		return err
	}
	if o.ScaleTables, err = ints(*tables); err != nil {
		return err
	}
	if o.PacemakerTables, err = ints(*pmTables); err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// The storm and the route counts run on loopback; every other part
	// on network namespaces.
	if os.Geteuid() != 0 && slices.ContainsFunc(o.Parts, func(p string) bool { return p != "storm" && p != "routes" }) {
		return fmt.Errorf("needs root for network namespaces")
	}
	// Bounded as a whole: a wedged round must not hold CI.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 40*time.Minute)
	defer cancel()

	host, _ := os.Hostname()
	fmt.Printf("# vipd benchmarks\n\ncommand: %s\ndate: %s\nmachine: %s, %s/%s, %d CPUs, %s\nload average at start: %s\n\n",
		strings.Join(os.Args, " "), time.Now().UTC().Format(time.RFC3339), host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), loadavg())
	res, err := bench.Run(ctx, o)
	if res != nil {
		bench.Print(os.Stdout, res)
		fmt.Printf("\nload average at end: %s; took %s\n", loadavg(), res.Took.Round(time.Second))
		if *jsonPath != "" {
			b, _ := json.MarshalIndent(res, "", "  ")
			if werr := os.WriteFile(*jsonPath, b, 0o644); werr != nil {
				return werr
			}
		}
		if err == nil {
			err = failures(res)
		}
	}
	return err
}

// failures is an error when a part could not run or a round of vipd's
// failed (the baseline's may: that is what it is measured for), so that
// a run in CI fails rather than printing a table with holes.
func failures(res *bench.Results) error {
	var failed []string
	for _, r := range res.Rounds {
		if r.Err != "" && r.System != bench.BaselineName {
			failed = append(failed, fmt.Sprintf("%s %s: %s", r.System, r.Fault, r.Err))
		}
	}
	if len(res.Problems) == 0 && len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d parts could not run and %d rounds of vipd failed (see problem: lines above): %s",
		len(res.Problems), len(failed), strings.Join(append(slices.Clone(res.Problems), failed...), "; "))
}

func ints(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a list of positive numbers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

func printReport(paths []string) error {
	var runs []*bench.Results
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var r bench.Results
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		runs = append(runs, &r)
	}
	bench.Print(os.Stdout, bench.Merge(runs...))
	return nil
}
