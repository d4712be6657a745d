// Package notice reads, from the instance metadata service (IMDS), the
// announcements that this EC2 instance is about to go: a Spot interruption
// notice, a rebalance recommendation, a scheduled maintenance event, an
// Auto Scaling termination. A Poller reads them every few seconds (AWS
// recommends checking for Spot interruption notices every 5 seconds) and
// keeps the current set, so that the node loop can hand the address over
// as a planned switchover before the instance goes (issue 22).
//
// It owns its poll goroutine (Run) and nothing else; it decides nothing
// about the address. internal/node consumes its notices; internal/daemon
// builds the Poller.
package notice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vipd/vipd/internal/config"
)

// Kind names a signal. The values are metric labels and config keys.
type Kind string

// The signals, with the IMDS item each is read from.
const (
	// SpotInterruption: spot/instance-action, present from two minutes
	// before EC2 stops, hibernates or terminates a Spot Instance ("Spot
	// Instance interruption notices", Amazon EC2 User Guide).
	SpotInterruption Kind = "spot-interruption"
	// RebalanceRecommendation: events/recommendations/rebalance, present
	// once the Spot Instance is at elevated risk of interruption ("EC2
	// instance rebalance recommendations").
	RebalanceRecommendation Kind = "rebalance-recommendation"
	// ScheduledMaintenance: an active event in
	// events/maintenance/scheduled, from Config.MaintenanceLead before its
	// NotBefore ("Scheduled events for your instances").
	ScheduledMaintenance Kind = "scheduled-maintenance"
	// AutoScalingTermination: autoscaling/target-lifecycle-state is
	// Terminated ("Retrieve the target lifecycle state through instance
	// metadata", EC2 Auto Scaling User Guide).
	AutoScalingTermination Kind = "autoscaling-termination"
)

// Kinds lists every signal in the order notices are reported.
var Kinds = []Kind{SpotInterruption, RebalanceRecommendation, ScheduledMaintenance, AutoScalingTermination}

// Mode is what the node does on a signal.
type Mode string

// The modes; a signal absent from Config.Signals is not read.
const (
	// Move hands the address over and keeps the node out while the
	// notice lasts.
	Move Mode = "move"
	// Report only logs the notice and shows it.
	Report Mode = "report"
)

// Notice is one current announcement.
type Notice struct {
	Kind Kind
	// Move is true when the configuration says to move on this signal.
	Move bool
	// Action is what is announced: stop, hibernate or terminate (Spot),
	// the event code (maintenance, e.g. system-reboot), the target
	// lifecycle state (Auto Scaling); "" for a rebalance recommendation.
	Action string
	// At is when it is due (Spot, maintenance) or was made (rebalance);
	// zero when IMDS does not say (Auto Scaling).
	At time.Time
	// ID is a maintenance event's EventId.
	ID string
}

// String says what the notice announces, for logs and status.
func (n Notice) String() string {
	var b strings.Builder
	b.WriteString(string(n.Kind))
	if n.Action != "" {
		b.WriteString(": " + n.Action)
	}
	if n.ID != "" {
		b.WriteString(" (" + n.ID + ")")
	}
	if !n.At.IsZero() {
		b.WriteString(" at " + n.At.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// MetadataGetter is the IMDS call the Poller makes; *imds.Client fits.
type MetadataGetter interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// Config says which signals to read and how often.
type Config struct {
	// Interval between two polls; default 5s.
	Interval time.Duration
	// Signals maps each signal to read to its mode.
	Signals map[Kind]Mode
	// MaintenanceLead is how long before a scheduled event's NotBefore it
	// becomes a notice.
	MaintenanceLead time.Duration
	// Timeout bounds each IMDS read; default 2s.
	Timeout time.Duration
	// Observe, if set, is told after each read of a signal whether a
	// notice is present, or the read's error (metrics).
	Observe func(kind Kind, present bool, err error)
}

// Poller reads the signals. Notices and Changes are safe for concurrent
// use; Run and Poll are called from one goroutine at a time.
type Poller struct {
	c       MetadataGetter
	cfg     Config
	log     *slog.Logger
	changes chan struct{}

	mu      sync.Mutex
	current map[Kind][]Notice
	// failing marks signals whose last read failed, so that a streak of
	// failures is logged once.
	failing map[Kind]bool
}

// New returns a Poller that reads from c. It reads nothing until Run or
// Poll.
func New(c MetadataGetter, cfg Config, log *slog.Logger) *Poller {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{c: c, cfg: cfg, log: log.With("component", "notice"), changes: make(chan struct{}, 1),
		current: map[Kind][]Notice{}, failing: map[Kind]bool{}}
}

// Run polls at once and then every Config.Interval until ctx is done; it
// returns nil then. Failed reads are logged and retried at the next poll.
func (p *Poller) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		_ = p.Poll(ctx) // logged there; a failed read is retried next time
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Notices returns the current notices, in Kinds order. A signal whose read
// failed keeps what it last read: a failed read is neither a notice nor
// the end of one.
func (p *Poller) Notices() []Notice {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Notice
	for _, k := range Kinds {
		out = append(out, p.current[k]...)
	}
	return out
}

// Changes is signalled (a one-slot hint) when Notices may have changed.
func (p *Poller) Changes() <-chan struct{} { return p.changes }

// Poll reads every configured signal once and updates Notices. It returns
// the failed reads, joined.
func (p *Poller) Poll(ctx context.Context) error {
	var errs []error
	changed := false
	for _, k := range Kinds {
		mode, ok := p.cfg.Signals[k]
		if !ok {
			continue
		}
		got, err := p.read(ctx, k, mode == Move)
		if p.cfg.Observe != nil {
			p.cfg.Observe(k, len(got) > 0, err)
		}
		if p.record(k, got, err) {
			changed = true
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if changed {
		select {
		case p.changes <- struct{}{}:
		default:
		}
	}
	return errors.Join(errs...)
}

// record stores one signal's read and logs what changed; it reports
// whether the signal's notices changed.
func (p *Poller) record(k Kind, got []Notice, err error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if !p.failing[k] {
			p.failing[k] = true
			p.log.Warn("read instance notice failed; keeping the last answer", "op", string(k), "err", err)
		}
		return false
	}
	if p.failing[k] {
		delete(p.failing, k)
		p.log.Info("read instance notice again", "op", string(k))
	}
	old := p.current[k]
	if slices.EqualFunc(old, got, Notice.equal) {
		return false
	}
	for _, n := range got {
		if !slices.ContainsFunc(old, n.equal) {
			p.log.Info("instance notice", "op", string(k), "reason", n.String())
		}
	}
	for _, n := range old {
		if !slices.ContainsFunc(got, n.equal) {
			p.log.Info("instance notice gone", "op", string(k), "reason", n.String())
		}
	}
	p.current[k] = got
	return true
}

func (n Notice) equal(o Notice) bool {
	return n.Kind == o.Kind && n.Move == o.Move && n.Action == o.Action && n.At.Equal(o.At) && n.ID == o.ID
}

// IMDS item paths under meta-data/.
const (
	pathSpot        = "spot/instance-action"
	pathRebalance   = "events/recommendations/rebalance"
	pathMaintenance = "events/maintenance/scheduled"
	pathAutoScaling = "autoscaling/target-lifecycle-state"
)

// scheduledTime is how IMDS writes a scheduled event's NotBefore ("21 Jan
// 2019 09:00:43 GMT", "View scheduled events" in the Amazon EC2 User
// Guide).
const scheduledTime = "2 Jan 2006 15:04:05 GMT"

// read reads one signal: its notices, none when IMDS answers 404 (the item
// is there only while announced).
func (p *Poller) read(ctx context.Context, k Kind, move bool) ([]Notice, error) {
	switch k {
	case SpotInterruption:
		var v struct {
			Action string `json:"action"`
			Time   string `json:"time"`
		}
		found, err := p.getJSON(ctx, pathSpot, &v)
		if err != nil || !found {
			return nil, err
		}
		at, err := time.Parse(time.RFC3339, v.Time)
		if err != nil {
			return nil, fmt.Errorf("read instance metadata %s: time %q: %w", pathSpot, v.Time, err)
		}
		return []Notice{{Kind: k, Move: move, Action: v.Action, At: at}}, nil
	case RebalanceRecommendation:
		var v struct {
			NoticeTime string `json:"noticeTime"`
		}
		found, err := p.getJSON(ctx, pathRebalance, &v)
		if err != nil || !found {
			return nil, err
		}
		at, err := time.Parse(time.RFC3339, v.NoticeTime)
		if err != nil {
			return nil, fmt.Errorf("read instance metadata %s: noticeTime %q: %w", pathRebalance, v.NoticeTime, err)
		}
		return []Notice{{Kind: k, Move: move, At: at}}, nil
	case ScheduledMaintenance:
		var events []struct {
			NotBefore string `json:"NotBefore"`
			Code      string `json:"Code"`
			EventID   string `json:"EventId"`
			State     string `json:"State"`
		}
		found, err := p.getJSON(ctx, pathMaintenance, &events)
		if err != nil || !found {
			return nil, err
		}
		var out []Notice
		now := time.Now()
		for _, e := range events {
			// Completed and canceled events stay listed for a while.
			if !strings.EqualFold(e.State, "active") {
				continue
			}
			at, err := time.Parse(scheduledTime, e.NotBefore)
			if err != nil {
				return nil, fmt.Errorf("read instance metadata %s: event %s: NotBefore %q: %w", pathMaintenance, e.EventID, e.NotBefore, err)
			}
			if now.Before(at.Add(-p.cfg.MaintenanceLead)) {
				continue // not yet
			}
			out = append(out, Notice{Kind: k, Move: move, Action: e.Code, At: at, ID: e.EventID})
		}
		return out, nil
	case AutoScalingTermination:
		b, found, err := p.get(ctx, pathAutoScaling)
		if err != nil || !found {
			return nil, err
		}
		// Terminated, or Warmed:Terminated for an instance of a warm pool.
		if state := strings.TrimSpace(string(b)); state == "Terminated" || strings.HasSuffix(state, ":Terminated") {
			return []Notice{{Kind: k, Move: move, Action: state}}, nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unknown instance notice %q", k)
}

func (p *Poller) getJSON(ctx context.Context, path string, v any) (found bool, err error) {
	b, found, err := p.get(ctx, path)
	if err != nil || !found {
		return found, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("read instance metadata %s: %w", path, err)
	}
	return true, nil
}

// get reads one metadata item; found is false on HTTP 404.
func (p *Poller) get(ctx context.Context, path string) (b []byte, found bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	out, err := p.c.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == 404 {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read instance metadata %s: %w", path, err)
	}
	defer out.Content.Close()
	b, err = io.ReadAll(io.LimitReader(out.Content, 64<<10))
	if err != nil {
		return nil, false, fmt.Errorf("read instance metadata %s: %w", path, err)
	}
	return b, true, nil
}

// Signals returns the signals cfg's instance-notices asks to read, with
// their modes: none set to ignore. In follow mode the database decides
// where the address goes (moving it off the database's primary would break
// the service), so every signal is only reported.
func Signals(cfg *config.Config) map[Kind]Mode {
	n := cfg.InstanceNotices
	signals := map[Kind]Mode{}
	for k, v := range map[Kind]string{
		SpotInterruption:        n.SpotInterruption,
		RebalanceRecommendation: n.RebalanceRecommendation,
		ScheduledMaintenance:    n.ScheduledMaintenance,
		AutoScalingTermination:  n.AutoScalingTermination,
	} {
		switch {
		case v == config.NoticeIgnore:
		case v == config.NoticeMove && cfg.Election.Backend != config.BackendFollow:
			signals[k] = Move
		default:
			signals[k] = Report
		}
	}
	return signals
}
