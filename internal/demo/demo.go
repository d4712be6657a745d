// Package demo is `vipd demo`: a self-contained failover on a simulated VPC,
// without AWS and without root. It runs the shared simulated cluster
// (internal/simcluster) on its loopback fabric: vpcsim and its proxy fabric
// in this process, two vipd nodes and (for raft) a witness as child
// processes, each node in front of a tiny service that answers with its
// node's name, and a client that connects to the service address through
// the fabric every 50 ms. Scenarios then break the primary in various ways and
// the demo prints a timeline: when the fault was made, when the other node
// noticed, how long its AWS calls took, and when the client was served again.
//
// Every child process and temporary file is removed when Run returns,
// including after Ctrl-C.
package demo

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/vipd/vipd/internal/config"
)

// Scenario names.
const (
	ScenarioKill       = "kill"
	ScenarioUnhealthy  = "unhealthy"
	ScenarioSwitchover = "switchover"
	ScenarioAPIFaults  = "api-faults"
	// ScenarioSpot: EC2 announces a Spot interruption of the primary's
	// instance; the node hands the address over as a planned switchover,
	// and EC2 stops the instance afterwards.
	ScenarioSpot = "spot"
)

// Scenarios lists every scenario in the order "all" runs them.
var Scenarios = []string{ScenarioKill, ScenarioUnhealthy, ScenarioSwitchover, ScenarioAPIFaults, ScenarioSpot}

// Elections lists the election backends the demo can run.
var Elections = []string{config.BackendRaft, config.BackendDynamoDB}

// leaseTable is the simulated DynamoDB table of the dynamodb election.
const leaseTable = "vipd-demo-leases"

// Options configure a demo run.
type Options struct {
	// Scenarios to run, each Rounds times.
	Scenarios []string
	Rounds    int
	// Latency is "none" or "realistic" (vpcsim's latency model).
	Latency string
	// Tuned runs the nodes with tighter timing (lease 1s, checks every
	// 200ms) instead of the defaults.
	Tuned bool
	// Election is the nodes' election backend: "raft" (default; two nodes
	// and a witness) or "dynamodb" (two nodes and no witness, the lease in
	// a table of the simulator's DynamoDB).
	Election string
	// JSON prints one JSON object per round on Out instead of the timeline.
	JSON bool
	// Exe is the vipd binary to start nodes with (default: this executable).
	Exe string
	// Out receives the report; Err progress and diagnostics.
	Out, Err io.Writer
	// KeepDir keeps the working directory (configs, logs) for inspection.
	KeepDir bool
}

// Round is the outcome of one scenario round; with --json each is printed
// as one object. Fields may be added, never changed or removed.
type Round struct {
	Scenario string `json:"scenario"`
	Round    int    `json:"round"`
	From     string `json:"from"`
	To       string `json:"to"`
	// FailoverMS is from the fault to the client's first answer from To.
	FailoverMS float64 `json:"failover_ms"`
	// DetectionMS is from the fault to To starting to acquire.
	// DetectionMS + AWSMS + ClientMS = FailoverMS.
	DetectionMS float64 `json:"detection_ms"`
	// AWSMS is from To starting to acquire to the VIP's route pointing at
	// To: every attempt of the acquire, with retries and back-off.
	AWSMS float64 `json:"aws_ms"`
	// ClientMS is from the route pointing at To to the client's first
	// answer from To.
	ClientMS float64 `json:"client_ms"`
	// AcquireMS is the sum of the resource steps of To's successful
	// acquire attempt (AWS calls and read-back). Steps may overlap and
	// earlier failed attempts are not in it: AWSMS is the wall-clock time.
	AcquireMS float64 `json:"acquire_ms"`
	// AWSAttempts counts the EC2 calls To made during AWSMS, retries
	// included; AWSErrors counts the failed ones by error code
	// (RequestLimitExceeded is EC2 throttling).
	AWSAttempts int            `json:"aws_attempts"`
	AWSErrors   map[string]int `json:"aws_errors,omitempty"`
	// RoutedMS is from the fault to the VIP's route pointing at To in vpcsim.
	RoutedMS float64 `json:"routed_ms"`
	// AWSCalls counts EC2 calls vpcsim served between the fault and the client being served.
	AWSCalls int `json:"aws_calls"`
	// AWSWrites counts the mutating ones among them.
	AWSWrites int `json:"aws_writes"`
	// ClientErrors counts client attempts that failed in between.
	ClientErrors int `json:"client_errors"`
	// Token is To's fencing token.
	Token uint64 `json:"token"`
	// NoticeMS is, in the spot scenario, from EC2's interruption notice
	// to the primary handing the address over (it reads notices every
	// second in the demo); FailoverMS counts from the hand-over, as a
	// switchover's counts from the command.
	NoticeMS float64 `json:"notice_ms,omitempty"`
	// StoppedMS is, in the spot scenario, from the notice to EC2 having
	// stopped the instance.
	StoppedMS float64 `json:"stopped_ms,omitempty"`
	// Error is set when the round did not complete.
	Error string `json:"error,omitempty"`
}

// Validate reports the scenario or latency profile o names that the demo
// does not know.
func (o Options) Validate() error {
	for _, s := range o.Scenarios {
		if !slices.Contains(Scenarios, s) {
			return fmt.Errorf("unknown scenario %q (want one of %v or all)", s, Scenarios)
		}
	}
	if o.Latency != "none" && o.Latency != "realistic" {
		return fmt.Errorf("unknown latency profile %q (want none or realistic)", o.Latency)
	}
	if o.Election != "" && !slices.Contains(Elections, o.Election) {
		return fmt.Errorf("unknown election backend %q (want one of %v)", o.Election, Elections)
	}
	return nil
}

// Run runs the demo until its scenarios finish or ctx is done.
func Run(ctx context.Context, o Options) ([]Round, error) {
	if o.Rounds <= 0 {
		o.Rounds = 1
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	c, err := Start(ctx, o)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var rounds []Round
	for _, sc := range o.Scenarios {
		for i := 1; i <= o.Rounds; i++ {
			if err := ctx.Err(); err != nil {
				return rounds, err
			}
			r := c.runScenario(ctx, sc, i)
			rounds = append(rounds, r)
			c.report(r)
		}
	}
	if !o.JSON {
		printSummary(o.Out, rounds)
	}
	return rounds, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
