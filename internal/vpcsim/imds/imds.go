// Package imds is vpcsim's instance metadata service: one loopback
// listener per simulated instance, speaking IMDSv2 as documented in "Use
// the Instance Metadata Service to access instance metadata": a PUT to
// /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1..21600)
// returns a session token that GETs present in X-aws-ec2-metadata-token.
//
// It owns its listeners and session tokens; what it reports of an
// instance is read afresh for every request through Options.Lookup, so
// that after an interface moves the listing follows. Only package vpcsim
// imports imds.
package imds

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Instance is what an instance's metadata service reports.
type Instance struct {
	ID, Type, Region, Account string
	Launch                    time.Time
	// Up is false when the instance is not running or its metadata service
	// was taken down: connections then drop.
	Up bool
	// V1 accepts calls without a session token (the world's imds-v1).
	V1 bool
	// Role is the instance profile's role, "" for none; ProfileARN and
	// ProfileID name the profile, RoleUpdated is its LastUpdated.
	Role, ProfileARN, ProfileID string
	RoleUpdated                 time.Time
	// AZ, AZID, MAC, PrivateIP and Hostname are the primary interface's;
	// empty when it has none.
	AZ, AZID, MAC, PrivateIP, Hostname string
	// Interfaces are the instance's network interfaces; only attached ones
	// are listed, but any of them answers by its MAC.
	Interfaces []Interface

	// Spot is the Spot interruption notice (spot/instance-action), nil
	// when none.
	Spot *SpotAction
	// Rebalance is when a rebalance recommendation was made
	// (events/recommendations/rebalance), zero when none.
	Rebalance time.Time
	// Maintenance are the scheduled events
	// (events/maintenance/scheduled), active or recently finished.
	Maintenance []MaintenanceEvent
	// TargetLifecycleState is the Auto Scaling target lifecycle state
	// (autoscaling/target-lifecycle-state), "" when the instance is in no
	// Auto Scaling group.
	TargetLifecycleState string
}

// SpotAction is a Spot Instance interruption notice: what EC2 will do to
// the instance (stop, terminate or hibernate) and when.
type SpotAction struct {
	Action string
	Time   time.Time
}

// MaintenanceEvent is one scheduled event as IMDS lists it.
type MaintenanceEvent struct {
	Code, Description, EventID, State string
	NotBefore, NotAfter               time.Time
}

// Interface is one attached network interface as IMDS lists it under
// network/interfaces/macs/.
type Interface struct {
	Attached                         bool
	MAC, ID, Hostname, Owner         string
	Device                           int
	IPs                              []string // primary first
	Subnet, SubnetCIDR, VPC, VPCCIDR string
	// VPCCIDRs are all the VPC's IPv4 blocks, the primary (VPCCIDR)
	// first: "vpc-ipv4-cidr-blocks: The IPv4 CIDR blocks for the VPC"
	// (EC2 user guide, "Instance metadata categories").
	VPCCIDRs []string
	// IPv6s are the interface's IPv6 addresses; SubnetIPv6CIDR and
	// VPCIPv6CIDR its subnet's and VPC's IPv6 blocks ("" without). IMDS
	// lists these keys only when they have a value, as EC2's does.
	IPv6s                       []string
	SubnetIPv6CIDR, VPCIPv6CIDR string
}

// Options configures a Service.
type Options struct {
	// Lookup returns an instance's metadata as of now; ok false when the
	// instance does not exist.
	Lookup func(instanceID string) (in Instance, ok bool)
	// Credentials returns the role credentials of an instance.
	Credentials func(instanceID string) (accessKeyID, secret, token string)
	// Logger receives serving failures; default discards.
	Logger *slog.Logger
}

// credentialLifetime is how long role credentials served by IMDS claim to
// be valid; AWS rotates them hours before they expire.
const credentialLifetime = 6 * time.Hour

type token struct {
	instance string
	expires  time.Time
}

// Service serves every instance's metadata. Its methods are safe for
// concurrent use.
type Service struct {
	opts Options
	srv  *http.Server

	mu     sync.Mutex
	tokens map[string]token
	lns    map[string]net.Listener // instance ID → listener
	addrs  map[string]string       // listener address → instance ID
	closed bool
	wg     sync.WaitGroup
}

type addrKey struct{}

// New returns a service with no listeners.
func New(opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: opts, tokens: map[string]token{}, lns: map[string]net.Listener{}, addrs: map[string]string{}}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, addrKey{}, c.LocalAddr().String())
		},
	}
	return s
}

// Sync opens a listener on 127.0.0.1:0 for every instance in ids that
// lacks one and closes those of instances not in ids. ctx bounds
// listening.
func (s *Service) Sync(ctx context.Context, ids []string) error {
	want := map[string]bool{}
	s.mu.Lock()
	var missing []string
	for _, id := range ids {
		want[id] = true
		if _, ok := s.lns[id]; !ok {
			missing = append(missing, id)
		}
	}
	var stale []net.Listener
	for id, ln := range s.lns {
		if !want[id] {
			stale = append(stale, ln)
			delete(s.lns, id)
			delete(s.addrs, ln.Addr().String())
		}
	}
	s.mu.Unlock()

	for _, ln := range stale {
		ln.Close()
	}
	var lc net.ListenConfig
	for _, id := range missing {
		ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen imds for %s: %w", id, err)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			ln.Close()
			return errors.New("imds closed")
		}
		s.lns[id] = ln
		s.addrs[ln.Addr().String()] = id
		s.wg.Go(func() {
			if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				s.opts.Logger.Error("serve failed", "addr", ln.Addr().String(), "err", err)
			}
		})
		s.mu.Unlock()
	}
	return nil
}

// URL returns the base URL of an instance's metadata service
// (http://127.0.0.1:port, the SDK's imds Endpoint), or "" when it has
// none.
func (s *Service) URL(instanceID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ln, ok := s.lns[instanceID]
	if !ok {
		return ""
	}
	return "http://" + ln.Addr().String()
}

// Reset forgets every session token, as a world reload does.
func (s *Service) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Close stops every listener and waits for in-flight requests until ctx
// ends, then cuts them.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	lns := make([]net.Listener, 0, len(s.lns))
	for _, ln := range s.lns {
		lns = append(lns, ln)
	}
	s.mu.Unlock()
	var err error
	// Listeners of removed instances were closed already (Sync); Shutdown
	// reports that, which is not a failure.
	if serr := s.srv.Shutdown(ctx); serr != nil && !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(serr, s.srv.Close())
	}
	for _, ln := range lns {
		ln.Close() // listeners that Serve has not taken over yet
	}
	s.wg.Wait()
	return err
}

func (s *Service) serve(w http.ResponseWriter, hr *http.Request) {
	addr, _ := hr.Context().Value(addrKey{}).(string)
	now := time.Now()
	s.mu.Lock()
	id := s.addrs[addr]
	s.mu.Unlock()
	in, ok := s.opts.Lookup(id)
	if !ok || !in.Up {
		// An unreachable metadata service: the client sees the connection
		// drop, as when the instance is stopped or IMDS is disabled.
		hijackClose(w)
		return
	}
	if hr.URL.Path == "/latest/api/token" {
		s.token(w, hr, id, now)
		return
	}
	if hr.Method != http.MethodGet && hr.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, PUT")
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	}
	tok := hr.Header.Get("X-aws-ec2-metadata-token")
	s.mu.Lock()
	t, ok := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case tok == "" && in.V1:
	case tok == "" || !ok || t.instance != id || now.After(t.expires):
		http.Error(w, "", http.StatusUnauthorized)
		return
	}
	body, ctype, found := s.metadata(in, hr.URL.Path, now)
	if !found {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n<html><head><title>404 - Not Found</title></head><body><h1>404 - Not Found</h1></body></html>\n")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write([]byte(body))
}

func (s *Service) token(w http.ResponseWriter, hr *http.Request, id string, now time.Time) {
	if hr.Method != http.MethodPut {
		w.Header().Set("Allow", "PUT")
		http.Error(w, "", http.StatusMethodNotAllowed)
		return
	}
	// IMDS refuses token requests that went through a proxy.
	if hr.Header.Get("X-Forwarded-For") != "" {
		http.Error(w, "", http.StatusForbidden)
		return
	}
	ttl, err := strconv.Atoi(hr.Header.Get("X-aws-ec2-metadata-token-ttl-seconds"))
	if err != nil || ttl < 1 || ttl > 21600 {
		http.Error(w, "", http.StatusBadRequest)
		return
	}
	tok := "AQAEA" + randomHex(51)
	s.mu.Lock()
	for k, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, k)
		}
	}
	s.tokens[tok] = token{instance: id, expires: now.Add(time.Duration(ttl) * time.Second)}
	s.mu.Unlock()
	w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, tok)
}

// metadata answers one metadata path for an instance.
func (s *Service) metadata(in Instance, path string, now time.Time) (body, ctype string, ok bool) {
	const text = "text/plain"
	lines := func(l ...string) (string, string, bool) { return strings.Join(l, "\n"), text, true }

	if path == "/latest/dynamic/instance-identity/document" {
		doc := map[string]any{
			"accountId":        in.Account,
			"architecture":     "x86_64",
			"availabilityZone": in.AZ,
			"imageId":          "ami-0a1b2c3d4e5f60718",
			"instanceId":       in.ID,
			"instanceType":     in.Type,
			"pendingTime":      in.Launch.Format(time.RFC3339),
			"privateIp":        in.PrivateIP,
			"region":           in.Region,
			"version":          "2017-09-30",
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		return string(b), text, true
	}
	if path == "/latest/dynamic/" || path == "/latest/dynamic" {
		return lines("instance-identity/")
	}
	md, okPrefix := strings.CutPrefix(path, "/latest/meta-data")
	if !okPrefix {
		if path == "/latest/" || path == "/latest" {
			return lines("dynamic", "meta-data")
		}
		return "", "", false
	}
	md = strings.TrimPrefix(md, "/")
	switch md {
	case "":
		l := []string{"ami-id", "events/", "hostname", "iam/", "instance-id", "instance-type", "local-hostname", "local-ipv4", "mac", "network/", "placement/"}
		if in.TargetLifecycleState != "" {
			l = append([]string{"autoscaling/"}, l...)
		}
		if in.Spot != nil {
			l = append(l, "spot/")
		}
		return lines(l...)
	case "ami-id":
		return lines("ami-0a1b2c3d4e5f60718")
	case "instance-id":
		return lines(in.ID)
	case "instance-type":
		return lines(in.Type)
	case "placement", "placement/":
		return lines("availability-zone", "availability-zone-id", "region")
	case "placement/region":
		return lines(in.Region)
	}
	if body, ctype, ok, handled := notices(in, md); handled {
		return body, ctype, ok
	}
	if in.MAC == "" {
		return "", "", false
	}
	switch md {
	case "placement/availability-zone":
		return lines(in.AZ)
	case "placement/availability-zone-id":
		return lines(in.AZID)
	case "mac":
		return lines(in.MAC)
	case "local-ipv4":
		return lines(in.PrivateIP)
	case "hostname", "local-hostname":
		return lines(in.Hostname)
	case "network", "network/":
		return lines("interfaces/")
	case "network/interfaces", "network/interfaces/":
		return lines("macs/")
	case "iam", "iam/":
		if in.Role == "" {
			return "", "", false
		}
		return lines("info", "security-credentials/")
	case "iam/info":
		if in.Role == "" {
			return "", "", false
		}
		b, _ := json.MarshalIndent(map[string]string{
			"Code":               "Success",
			"LastUpdated":        in.RoleUpdated.Format(time.RFC3339),
			"InstanceProfileArn": in.ProfileARN,
			"InstanceProfileId":  in.ProfileID,
		}, "", "  ")
		return string(b), text, true
	case "iam/security-credentials", "iam/security-credentials/":
		if in.Role == "" {
			return "", "", false
		}
		return lines(in.Role)
	}
	if role, isCreds := strings.CutPrefix(md, "iam/security-credentials/"); isCreds {
		if in.Role == "" || role != in.Role {
			return "", "", false
		}
		ak, secret, token := s.opts.Credentials(in.ID)
		b, _ := json.MarshalIndent(map[string]string{
			"Code":            "Success",
			"LastUpdated":     now.UTC().Format(time.RFC3339),
			"Type":            "AWS-HMAC",
			"AccessKeyId":     ak,
			"SecretAccessKey": secret,
			"Token":           token,
			"Expiration":      now.Add(credentialLifetime).UTC().Format(time.RFC3339),
		}, "", "  ")
		return string(b), text, true
	}
	macs, isMacs := strings.CutPrefix(md, "network/interfaces/macs")
	if !isMacs {
		return "", "", false
	}
	macs = strings.Trim(macs, "/")
	if macs == "" {
		l := make([]string, 0, len(in.Interfaces))
		for _, e := range in.Interfaces {
			if e.Attached {
				l = append(l, e.MAC+"/")
			}
		}
		return lines(l...)
	}
	mac, leaf, _ := strings.Cut(macs, "/")
	var e *Interface
	for i := range in.Interfaces {
		if in.Interfaces[i].MAC == mac {
			e = &in.Interfaces[i]
		}
	}
	if e == nil {
		return "", "", false
	}
	switch leaf {
	case "":
		keys := []string{"device-number", "interface-id"}
		if len(e.IPv6s) > 0 {
			keys = append(keys, "ipv6s")
		}
		keys = append(keys, "local-hostname", "local-ipv4s", "mac", "owner-id", "subnet-id")
		if e.SubnetIPv6CIDR != "" {
			keys = append(keys, "subnet-ipv6-cidr-blocks")
		}
		keys = append(keys, "subnet-ipv4-cidr-block", "vpc-id", "vpc-ipv4-cidr-block", "vpc-ipv4-cidr-blocks")
		if e.VPCIPv6CIDR != "" {
			keys = append(keys, "vpc-ipv6-cidr-blocks")
		}
		return lines(keys...)
	case "ipv6s":
		if len(e.IPv6s) == 0 {
			return "", "", false
		}
		return lines(e.IPv6s...)
	case "subnet-ipv6-cidr-blocks":
		if e.SubnetIPv6CIDR == "" {
			return "", "", false
		}
		return lines(e.SubnetIPv6CIDR)
	case "vpc-ipv6-cidr-blocks":
		if e.VPCIPv6CIDR == "" {
			return "", "", false
		}
		return lines(e.VPCIPv6CIDR)
	case "device-number":
		return lines(strconv.Itoa(e.Device))
	case "interface-id":
		return lines(e.ID)
	case "local-hostname":
		return lines(e.Hostname)
	case "local-ipv4s":
		return lines(e.IPs...)
	case "mac":
		return lines(e.MAC)
	case "owner-id":
		return lines(e.Owner)
	case "subnet-id":
		return lines(e.Subnet)
	case "subnet-ipv4-cidr-block":
		return lines(e.SubnetCIDR)
	case "vpc-id":
		return lines(e.VPC)
	case "vpc-ipv4-cidr-block":
		return lines(e.VPCCIDR)
	case "vpc-ipv4-cidr-blocks":
		if len(e.VPCCIDRs) == 0 {
			return lines(e.VPCCIDR)
		}
		return lines(e.VPCCIDRs...)
	}
	return "", "", false
}

// hijackClose drops the connection without an answer, as a client of an
// unreachable metadata service sees it.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "", http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	conn.Close()
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)[:n]
}

// scheduledTime is how IMDS writes a scheduled event's NotBefore and
// NotAfter ("21 Jan 2019 09:00:43 GMT" in "View scheduled events" of the
// Amazon EC2 User Guide).
const scheduledTime = "2 Jan 2006 15:04:05 GMT"

// notices answers the metadata that announces an instance's end: handled
// is false for paths outside it. Each item is there only while announced
// (404 otherwise), as the Amazon EC2 User Guide says of
// spot/instance-action ("Spot Instance interruption notices") and
// events/recommendations/rebalance ("EC2 instance rebalance
// recommendations"); events/maintenance/scheduled is always there, an
// empty JSON list when nothing is scheduled; autoscaling/ exists for
// instances in an Auto Scaling group ("Retrieve the target lifecycle state
// through instance metadata", EC2 Auto Scaling User Guide).
func notices(in Instance, md string) (body, ctype string, ok, handled bool) {
	const text = "text/plain"
	js := func(v any) (string, string, bool, bool) {
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b), text, true, true
	}
	switch md {
	case "events", "events/":
		return "maintenance/\nrecommendations/", text, true, true
	case "events/maintenance", "events/maintenance/":
		return "history\nscheduled", text, true, true
	case "events/maintenance/history":
		return "[]", text, true, true
	case "events/maintenance/scheduled":
		type event struct {
			NotBefore   string `json:"NotBefore"`
			Code        string `json:"Code"`
			Description string `json:"Description"`
			EventID     string `json:"EventId"`
			NotAfter    string `json:"NotAfter"`
			State       string `json:"State"`
		}
		l := make([]event, 0, len(in.Maintenance))
		for _, e := range in.Maintenance {
			l = append(l, event{NotBefore: e.NotBefore.UTC().Format(scheduledTime), Code: e.Code, Description: e.Description,
				EventID: e.EventID, NotAfter: e.NotAfter.UTC().Format(scheduledTime), State: e.State})
		}
		return js(l)
	case "events/recommendations", "events/recommendations/":
		if in.Rebalance.IsZero() {
			return "", "", false, true
		}
		return "rebalance", text, true, true
	case "events/recommendations/rebalance":
		if in.Rebalance.IsZero() {
			return "", "", false, true
		}
		return js(map[string]string{"noticeTime": in.Rebalance.UTC().Format(time.RFC3339)})
	case "spot", "spot/":
		if in.Spot == nil {
			return "", "", false, true
		}
		return "instance-action\ntermination-time", text, true, true
	case "spot/instance-action":
		if in.Spot == nil {
			return "", "", false, true
		}
		return js(map[string]string{"action": in.Spot.Action, "time": in.Spot.Time.UTC().Format(time.RFC3339)})
	case "spot/termination-time":
		// The older item, present only when the instance is to be
		// terminated.
		if in.Spot == nil || in.Spot.Action != "terminate" {
			return "", "", false, true
		}
		return in.Spot.Time.UTC().Format(time.RFC3339), text, true, true
	case "autoscaling", "autoscaling/":
		if in.TargetLifecycleState == "" {
			return "", "", false, true
		}
		return "target-lifecycle-state", text, true, true
	case "autoscaling/target-lifecycle-state":
		if in.TargetLifecycleState == "" {
			return "", "", false, true
		}
		return in.TargetLifecycleState, text, true, true
	}
	return "", "", false, false
}
