package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/vipd/vipd/internal/admin"
	"github.com/vipd/vipd/internal/config"
	"github.com/vipd/vipd/internal/controller"
)

// handler serves invocations. getenv is os.Getenv (tests pass their own).
type handler struct {
	getenv func(string) string
	log    *slog.Logger
}

// Report is the function's response: what this invocation saw and did.
type Report struct {
	Controller string  `json:"controller"`
	Cluster    string  `json:"cluster"`
	RanMS      float64 `json:"ran_ms"`
	// Active is true when this invocation held the lease at its end.
	Active bool   `json:"active"`
	Holder string `json:"holder"`
	Token  uint64 `json:"token"`
	// Owner is the instance the resources point at, as last seen.
	Owner       string             `json:"owner"`
	Moves       int64              `json:"moves"`
	Transitions []admin.Transition `json:"transitions"`
	// Clusters reports each cluster of a configuration with clusters
	// (the fields above are then the first cluster's).
	Clusters []ClusterReport `json:"clusters,omitempty"`
}

// ClusterReport is one cluster of a Report.
type ClusterReport struct {
	Cluster     string             `json:"cluster"`
	Active      bool               `json:"active"`
	Holder      string             `json:"holder"`
	Token       uint64             `json:"token"`
	Owner       string             `json:"owner"`
	Moves       int64              `json:"moves"`
	Transitions []admin.Transition `json:"transitions"`
}

// scheduled is the part of an EventBridge event the handler checks.
type scheduled struct {
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
}

// checkEvent accepts an EventBridge scheduled event, or an empty object
// (aws lambda invoke without a payload); anything else is refused, so that
// a function wired to the wrong trigger says so instead of running.
func checkEvent(raw json.RawMessage) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fmt.Errorf("event is not a JSON object: %w", err)
	}
	if len(fields) == 0 {
		return nil
	}
	var ev scheduled
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" {
		return fmt.Errorf("event source %q, detail-type %q: want an EventBridge scheduled event (aws.events, Scheduled Event) or {}", ev.Source, ev.DetailType)
	}
	return nil
}

// handle runs the controller for the configured run time, bounded by the
// invocation's deadline, and reports. It never panics: every failure is
// returned to the runtime as the invocation's error.
func (h *handler) handle(ctx context.Context, raw json.RawMessage) (Report, error) {
	start := time.Now()
	if err := checkEvent(raw); err != nil {
		return Report{}, err
	}
	cfg, err := h.config(ctx)
	if err != nil {
		return Report{}, err
	}
	runTime := cfg.Lambda.RunTime
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl) - cfg.Lambda.StopBefore
		if left <= 0 {
			return Report{}, fmt.Errorf("invocation has %s left, less than lambda.stop-before %s: raise the function timeout above lambda.run-time + lambda.stop-before",
				time.Until(dl).Round(time.Millisecond), cfg.Lambda.StopBefore)
		}
		runTime = min(runTime, left)
	}
	name := h.getenv("AWS_LAMBDA_FUNCTION_NAME")
	if name == "" {
		name = "vipd-lambda"
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		// One name per invocation: the lease tells invocations apart.
		name += "/" + strings.SplitN(lc.AwsRequestID, "-", 2)[0]
	}
	log := h.log.With("node", name)
	if len(cfg.Clusters) == 0 {
		log = log.With("cluster", cfg.Cluster)
	}
	bctx, cancel := context.WithTimeout(ctx, min(15*time.Second, runTime))
	f, err := controller.BuildFleet(bctx, cfg, controller.BuildOptions{Name: name, Region: h.getenv("AWS_REGION"), Log: log})
	cancel()
	if err != nil {
		return Report{}, fmt.Errorf("build controller: %w", err)
	}
	log.Info("invocation started", "duration", runTime)

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	var runErr error
	ran := make(chan struct{})
	wg.Go(func() { defer close(ran); runErr = f.Run(runCtx) })
	// Read the status just before the end, while the loop still answers.
	timer := time.NewTimer(max(runTime-100*time.Millisecond, 0))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ran:
	}
	var sts []admin.Status
	var serr error
	for _, c := range f.Controllers() {
		st, err := c.Status(ctx)
		if err != nil {
			serr = err
			break
		}
		sts = append(sts, st)
	}
	stop()
	wg.Wait()
	if runErr != nil {
		return Report{}, fmt.Errorf("run controller: %w", runErr)
	}
	if serr != nil {
		return Report{}, fmt.Errorf("read controller status: %w", serr)
	}
	st := sts[0]
	rep := Report{
		Controller: name, Cluster: st.Cluster,
		RanMS:  float64(time.Since(start).Microseconds()) / 1000,
		Active: st.LeaseHeld, Holder: st.Holder, Token: st.Token,
		Owner: st.InstanceID, Moves: st.Counters["moves"], Transitions: st.Transitions,
	}
	if len(cfg.Clusters) > 0 {
		for _, st := range sts {
			rep.Clusters = append(rep.Clusters, ClusterReport{Cluster: st.Cluster, Active: st.LeaseHeld, Holder: st.Holder, Token: st.Token,
				Owner: st.InstanceID, Moves: st.Counters["moves"], Transitions: st.Transitions})
		}
	}
	log.Info("invocation finished", "instance_id", rep.Owner, "token", rep.Token, "reason", fmt.Sprintf("%d moves", rep.Moves))
	return rep, nil
}

// config reads the controller configuration from VIPD_CONFIG or the SSM
// parameter VIPD_CONFIG_PARAMETER names.
func (h *handler) config(ctx context.Context) (*config.Controller, error) {
	if text := h.getenv("VIPD_CONFIG"); text != "" {
		return config.ParseController([]byte(text), "VIPD_CONFIG")
	}
	name := h.getenv("VIPD_CONFIG_PARAMETER")
	if name == "" {
		return nil, errors.New("no configuration: set VIPD_CONFIG to the controller YAML or VIPD_CONFIG_PARAMETER to an SSM parameter holding it")
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	awsCfg, err := awsconfig.LoadDefaultConfig(cctx, awsconfig.WithRegion(h.getenv("AWS_REGION")))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	out, err := ssm.NewFromConfig(awsCfg).GetParameter(cctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("read configuration parameter %s: %w", name, err)
	}
	return config.ParseController([]byte(aws.ToString(out.Parameter.Value)), "ssm:"+name)
}
