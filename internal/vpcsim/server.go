package vpcsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vipd/vipd/internal/vpcsim/dynamodb"
	"github.com/vipd/vipd/internal/vpcsim/ec2"
	"github.com/vipd/vipd/internal/vpcsim/faults"
	"github.com/vipd/vipd/internal/vpcsim/iam"
	"github.com/vipd/vipd/internal/vpcsim/imds"
	"github.com/vipd/vipd/internal/vpcsim/route53"
	"github.com/vipd/vipd/internal/vpcsim/ssm"
)

// Options tunes a Server. The zero value is usable.
type Options struct {
	// AdminAccessKeyID is the access key that may do anything; default
	// "vpcsim-admin". Its secret is AdminSecretAccessKey (default
	// "vpcsim-admin-secret").
	AdminAccessKeyID     string
	AdminSecretAccessKey string
	// Logger receives one debug line per call; default discards.
	Logger *slog.Logger
	// HistoryLimit bounds the call history; oldest calls are dropped first.
	// Default 100000.
	HistoryLimit int
	// MaxHang bounds a "hang" fault without its own timeout; default 5m.
	MaxHang time.Duration
	// Timing delays answers and asynchronous transitions; the zero value
	// answers at once (see TimingProfile).
	Timing Timing
	// AnyAccessKey lets an unknown access key act as the admin, as moto's
	// server mode accepts any key; instance keys keep their roles.
	AnyAccessKey bool
	// SkipSignatureCheck accepts any SigV4 signature, checking only that
	// the access key is known; by default signatures are verified.
	SkipSignatureCheck bool
	// Route53, DynamoDB and SSM configure the other services served on the
	// same listener. Their Region, AccountID and Logger default to this
	// server's; Route53.VPCExists defaults to this server's VPCs.
	Route53  route53.Options
	DynamoDB dynamodb.Options
	SSM      ssm.Options
	// Throttle enables EC2's per-action token buckets (RequestLimitExceeded,
	// HTTP 503) with AWS's published sizes; off by default.
	Throttle bool
}

func (o Options) withDefaults() Options {
	if o.AdminAccessKeyID == "" {
		o.AdminAccessKeyID = "vpcsim-admin"
	}
	if o.AdminSecretAccessKey == "" {
		o.AdminSecretAccessKey = "vpcsim-admin-secret"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HistoryLimit <= 0 {
		o.HistoryLimit = 100000
	}
	if o.MaxHang <= 0 {
		o.MaxHang = 5 * time.Minute
	}
	return o
}

// Server is one simulated AWS account in one region: the EC2 Query API and
// the control endpoint on one listener, and an IMDS listener per instance.
// All methods are safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger

	ec2  *ec2.Account     // EC2's state and handlers
	iam  *iam.Authority   // signatures and instance credentials
	inj  *faults.Injector // faults, throttling and history of every service
	imds *imds.Service    // every instance's metadata service

	mu      sync.Mutex
	started bool
	closed  bool
	r53     *route53.Service
	ddb     *dynamodb.Service
	ssm     *ssm.Service

	stop context.CancelFunc // ends the transition loop

	// ec2H, r53H, ddbH, ssmH and stsH are the services wrapped in the
	// faults middleware.
	ec2H, r53H, ddbH, ssmH, stsH http.Handler

	ln     net.Listener
	url    string
	apiSrv *http.Server
	wg     sync.WaitGroup
}

// New checks w and returns a server that has not started listening.
func New(w *World, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	log := opts.Logger.With("component", "vpcsim")
	s := &Server{
		opts: opts,
		log:  log,
		inj:  faults.New(faults.Options{HistoryLimit: opts.HistoryLimit, MaxHang: opts.MaxHang, Logger: log}),
	}
	s.iam = iam.New(iam.Options{AdminAccessKeyID: opts.AdminAccessKeyID, AdminSecretAccessKey: opts.AdminSecretAccessKey,
		AnyAccessKey: opts.AnyAccessKey, SkipSignatureCheck: opts.SkipSignatureCheck,
		Roles: func() map[string]string { return s.ec2.InstanceRoles() }, Logger: log})
	acct, err := ec2.New(w, ec2.Options{Timing: opts.Timing, Throttle: opts.Throttle, IAM: s.iam, OnLaunch: s.syncIMDS,
		IMDSURL: func(id string) string { return s.imds.URL(id) }, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("new vpcsim: %w", err)
	}
	s.ec2 = acct
	s.imds = imds.New(imds.Options{Lookup: acct.Metadata, Credentials: s.iam.Credentials, Logger: log})
	s.newServices()
	s.ec2H = s.inj.Wrap(acct.Service(), acct)
	r53 := s.route53Service()
	s.r53H = s.withAccess(r53, s.route53Access(r53.Action), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Route53().Handler().ServeHTTP(w, r)
	}))
	ddb := s.jsonService("dynamodb", "DynamoDB_20120810.", "application/x-amz-json-1.0", "com.amazonaws.dynamodb.v20120810#")
	ddb.Latency = func(string) time.Duration { return opts.Timing.DynamoDB.Sample() }
	s.ddbH = s.withAccess(ddb, s.dynamoDBAccess(ddb.Action),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.DynamoDB().Handler().ServeHTTP(w, r) }))
	sm := s.jsonService("ssm", ssm.TargetPrefix, "application/x-amz-json-1.1", "")
	s.ssmH = s.withAccess(sm, s.ssmAccess(sm.Action),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.SSM().Handler().ServeHTTP(w, r) }))
	s.stsH = s.stsHandler()
	return s, nil
}

// route53Service describes Route 53's REST-XML protocol to the faults
// middleware (withAccess adds who calls). Route 53 throttles itself (its account-wide rate, answered
// with HTTP 400), so the middleware does not.
func (s *Server) route53Service() faults.Service {
	return faults.Service{
		Name:   "route53",
		Action: route53.Operation,
		WriteError: func(w http.ResponseWriter, r *http.Request, e *faults.APIError) {
			route53.WriteError(w, e.Status, e.Code, e.Message)
		},
	}
}

// jsonService describes a JSON protocol service (DynamoDB, SSM), whose
// operation is named by X-Amz-Target after prefix; errors carry
// typePrefix before the code in __type, as that service writes them.
func (s *Server) jsonService(name, prefix, ctype, typePrefix string) faults.Service {
	return faults.Service{
		Name:   name,
		Action: func(r *http.Request) string { return strings.TrimPrefix(r.Header.Get("X-Amz-Target"), prefix) },
		WriteError: func(w http.ResponseWriter, r *http.Request, e *faults.APIError) {
			b := fmt.Appendf(nil, `{"__type":"%s%s","message":"%s"}`, typePrefix, jsonEscape(e.Code), jsonEscape(e.Message))
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("X-Amzn-Errortype", e.Code)
			// DynamoDB sends a checksum with every answer, and the SDK
			// checks it when present.
			w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
			w.WriteHeader(e.Status)
			w.Write(b)
		},
	}
}

// Start listens on addr (host:port; port 0 picks one) for the EC2 API and
// the /_sim/ control endpoint, and on 127.0.0.1:0 for each instance's IMDS.
// It returns once every listener is bound; ctx bounds only that. Serving
// continues until Close.
func (s *Server) Start(ctx context.Context, addr string) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("start vpcsim: already started or closed")
	}
	s.started = true
	s.mu.Unlock()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("start vpcsim: %w", err)
	}
	s.ln = ln
	s.url = "http://" + ln.Addr().String()

	mux := http.NewServeMux()
	s.routeControl(mux)
	mux.HandleFunc("/2013-04-01/", func(w http.ResponseWriter, r *http.Request) {
		s.r53H.ServeHTTP(w, r)
	})
	mux.HandleFunc("/", s.serveRoot)
	s.apiSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Go(func() { s.serve(s.apiSrv, ln) })
	tctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.mu.Lock()
	s.stop = stop
	s.mu.Unlock()
	s.wg.Go(func() { s.ec2.RunTransitions(tctx) })
	if err := s.syncIMDS(ctx); err != nil {
		s.Close()
		return fmt.Errorf("start vpcsim: %w", err)
	}
	return nil
}

func (s *Server) serve(srv *http.Server, ln net.Listener) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		s.log.Error("serve failed", "addr", ln.Addr().String(), "err", err)
	}
}

// syncIMDS opens an IMDS listener for every instance that lacks one and
// closes those of instances that no longer exist.
func (s *Server) syncIMDS(ctx context.Context) error {
	return s.imds.Sync(ctx, s.ec2.Instances())
}

// newServices creates empty Route 53, DynamoDB and SSM services for the
// account of st; callers hold s.mu or own s exclusively.
func (s *Server) newServices() {
	region, account := s.ec2.Region(), s.ec2.AccountID()
	opts := s.opts
	r53 := opts.Route53
	if r53.PropagationDelay == 0 {
		r53.PropagationDelay = opts.Timing.Route53Propagation.Sample()
	}
	if r53.Logger == nil {
		r53.Logger = opts.Logger
	}
	if r53.AccountID == "" {
		r53.AccountID = account
	}
	if r53.VPCExists == nil {
		r53.VPCExists = func(region, vpcID string) bool {
			return s.ec2.VPCExists(region, vpcID)
		}
	}
	ddb, sm := opts.DynamoDB, opts.SSM
	if ddb.Region == "" {
		ddb.Region = region
	}
	if ddb.AccountID == "" {
		ddb.AccountID = account
	}
	if ddb.Logger == nil {
		ddb.Logger = opts.Logger
	}
	if sm.Region == "" {
		sm.Region = region
	}
	if sm.AccountID == "" {
		sm.AccountID = account
	}
	if sm.Logger == nil {
		sm.Logger = opts.Logger
	}
	s.r53, s.ddb, s.ssm = route53.New(r53), dynamodb.New(ddb), ssm.New(sm)
}

// services returns the current Route 53, DynamoDB and SSM services.
func (s *Server) services() (*route53.Service, *dynamodb.Service, *ssm.Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r53, s.ddb, s.ssm
}

// serveRoot tells the services that share POST / apart, as moto's server
// mode does: DynamoDB and SSM by X-Amz-Target, EC2 by its form; a request
// for any other service answers an error naming it.
func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	switch target := r.Header.Get("X-Amz-Target"); {
	case strings.HasPrefix(target, "DynamoDB_20120810."):
		s.ddbH.ServeHTTP(w, r)
	case strings.HasPrefix(target, ssm.TargetPrefix):
		s.ssmH.ServeHTTP(w, r)
	case target != "":
		svc, _, _ := strings.Cut(target, ".")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"vpcsim does not model the service of X-Amz-Target %s (%s); it models EC2, Route 53, DynamoDB, SSM and STS"}`, jsonEscape(target), jsonEscape(svc))
	default:
		_, svc := iam.Scope(r)
		if svc == "sts" {
			s.stsH.ServeHTTP(w, r)
			return
		}
		if svc != "" && svc != "ec2" {
			w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "%s<Response><Errors><Error><Code>UnsupportedService</Code><Message>vpcsim does not model the %s service; it models EC2, Route 53, DynamoDB, SSM and STS</Message></Error></Errors><RequestID>%s</RequestID></Response>",
				xml.Header, xmlEscape(svc), newRequestID())
			return
		}
		s.ec2H.ServeHTTP(w, r)
	}
}

// Route53 returns the Route 53 service served under /2013-04-01/ (a new
// one after moto's reset endpoint).
func (s *Server) Route53() *route53.Service { r, _, _ := s.services(); return r }

// DynamoDB returns the DynamoDB service served on POST / by X-Amz-Target.
func (s *Server) DynamoDB() *dynamodb.Service { _, d, _ := s.services(); return d }

// SSM returns the SSM Parameter Store served on POST / by X-Amz-Target.
func (s *Server) SSM() *ssm.Service { _, _, m := s.services(); return m }

// URL returns the EC2 endpoint, http://host:port, once started.
func (s *Server) URL() string { return s.url }

// IMDSURL returns the base URL of an instance's metadata service
// (http://127.0.0.1:port, the SDK's imds Endpoint), or "" when the instance
// does not exist or the server has not started.
func (s *Server) IMDSURL(instanceID string) string { return s.imds.URL(instanceID) }

// AdminKey returns the admin credentials (access key ID and secret).
func (s *Server) AdminKey() (accessKeyID, secretAccessKey string) {
	return s.opts.AdminAccessKeyID, s.opts.AdminSecretAccessKey
}

// Close stops all listeners, releases requests held by hang faults and
// waits for in-flight requests to finish (at most 10 s, then it cuts them).
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.stop != nil {
		s.stop()
	}
	s.mu.Unlock()
	// Held calls end and late writes stop before the listeners wait for
	// their requests.
	s.inj.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if s.apiSrv != nil {
		if err := s.apiSrv.Shutdown(ctx); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err, s.apiSrv.Close())
		}
	}
	if err := s.imds.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	s.wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close vpcsim: %w", err)
	}
	return nil
}

// Region returns the simulated region.
func (s *Server) Region() string { return s.ec2.Region() }

// Changes returns a channel that receives a value after state mutations.
// It is a hint with one slot: several mutations may collapse into one value,
// so a receiver re-reads what it needs (Resolve) instead of counting.
func (s *Server) Changes() <-chan struct{} { return s.ec2.Changes() }

// Resolve answers the data-plane question of the fabric: which instance
// receives a packet sent from a subnet to dst (see ec2.Account.Resolve).
func (s *Server) Resolve(fromSubnetID string, dst netip.Addr) (instanceID string, err error) {
	return s.ec2.Resolve(fromSubnetID, dst)
}

// Snapshot returns a copy of the current EC2 state.
func (s *Server) Snapshot() State { return s.ec2.Snapshot() }

// World returns the current EC2 state as a world that LoadWorld accepts.
func (s *Server) World() *World { return s.ec2.World() }

// SetIMDS takes an instance's metadata service down (connections drop) or
// brings it back up.
func (s *Server) SetIMDS(instanceID string, up bool) error { return s.ec2.SetIMDS(instanceID, up) }

// SetInstanceState stops ("stopped") or starts ("running") an instance at
// once, as a crash or an operator outside the API would. A stopped
// instance keeps its interfaces; routes to it turn blackhole and its IMDS
// stops answering.
func (s *Server) SetInstanceState(instanceID, to string) error {
	return s.ec2.SetInstanceState(instanceID, to)
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
